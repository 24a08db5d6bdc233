//! The simulated disk's own tests: durability per sync, torn sectors, failed syncs, dying processes.

use super::*;

fn write_file(fs: &dyn Storage, path: &str, bytes: &[u8]) -> FileRef {
    let f = fs.open(Path::new(path), Open::Create).unwrap();
    f.write_all_at(bytes, f.len().unwrap()).unwrap();
    f
}

#[test]
fn synced_data_and_names_survive_power_loss_unsynced_names_may_not() {
    let mut seen_b = false;
    let mut lens = std::collections::BTreeSet::new();
    for seed in 0..200 {
        let disk = SimDisk::new();
        let fs = disk.process();
        fs.create_dir(Path::new("/d")).unwrap();
        fs.sync_dir(Path::new("/")).unwrap();
        let f = write_file(&*fs, "/d/a", &[7u8; 2000]);
        f.sync_data().unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        write_file(&*fs, "/d/a", &[8u8; 2000]); // unsynced
        write_file(&*fs, "/d/b", b"never synced");
        disk.power_loss(&mut Rng::new(seed));
        let after = disk.process();
        let a = crate::log::io::read(&*after, Path::new("/d/a")).unwrap();
        assert!(a.len() >= 2000 && a[..2000].iter().all(|&b| b == 7), "seed {seed}");
        assert!(a.len() == 2000 || a.len() == 4000 || a.len().is_multiple_of(512), "seed {seed}: torn at a sector");
        lens.insert(a.len());
        seen_b |= crate::log::io::exists(&*after, Path::new("/d/b"));
        assert!(f.sync_data().is_err(), "the old process's handles are dead");
    }
    assert!(lens.contains(&2000) && lens.contains(&4000) && lens.len() > 2, "{lens:?}");
    assert!(seen_b, "an unsynced name sometimes survives");
}

#[test]
fn a_failed_sync_loses_its_writes_for_good_and_faults_clear() {
    let disk = SimDisk::new();
    let fs = disk.process();
    let f = write_file(&*fs, "/x", b"hello");
    fs.sync_dir(Path::new("/")).unwrap();
    disk.fail(FaultOp::Sync, "/x", libc::EIO, 1);
    assert_eq!(f.sync_data().unwrap_err().raw_os_error(), Some(libc::EIO));
    f.sync_data().unwrap(); // nothing pending any more
    disk.power_loss(&mut Rng::new(1));
    let fs = disk.process();
    assert_eq!(crate::log::io::read(&*fs, Path::new("/x")).unwrap(), b"");
}

#[test]
fn a_process_dies_at_its_nth_operation_and_locks_go_with_it() {
    let disk = SimDisk::new();
    let fs = disk.process();
    let f = write_file(&*fs, "/l", b"");
    assert!(f.try_lock().unwrap());
    let g = fs.open(Path::new("/l"), Open::Read).unwrap();
    assert!(!g.try_lock().unwrap());
    disk.die_after(1);
    f.write_all_at(b"1", 0).unwrap();
    assert!(f.write_all_at(b"2", 1).is_err());
    assert!(disk.is_dead());
    disk.power_loss(&mut Rng::new(3));
    let fs = disk.process();
    if crate::log::io::exists(&*fs, Path::new("/l")) {
        assert!(fs.open(Path::new("/l"), Open::Read).unwrap().try_lock().unwrap());
    }
}
