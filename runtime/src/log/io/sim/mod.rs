//! A simulated disk for crash tests: durable and unsynced state kept apart, power loss, injected errors.
//!
//! Every file keeps a *durable* image and the list of writes and truncations made since its last
//! `fdatasync`; every directory keeps its durable entries and the creates, renames and removes made
//! since its last directory fsync. [`SimDisk::power_loss`] keeps, per file and per directory, the
//! durable state plus a random part of what was pending — a prefix, possibly with its last write torn
//! at a 512-byte sector boundary, or a random subset (writes reordered) — independently per file, so
//! a later write to one file may survive where an earlier write to another is lost. A failed
//! `fdatasync` forgets the pending writes for good (the kernel marks the pages clean, ATC'20).
//! [`SimDisk::die_after`] ends the "process" at a chosen operation: that operation and every later
//! one of its handles fail, as if the process had been killed there. Everything is deterministic
//! given the seed of the [`Rng`] the harness passes in; the sim's clock moves only when told.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{FileRef, Open, Storage, StorageRef};

/// SplitMix64: a tiny seeded generator, the same sequence for a seed on every platform and version.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1/n`.
    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// The operations an injected error can hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FaultOp {
    /// `write_all_at` and `set_len`.
    Write,
    /// `fdatasync` of a file and fsync of a directory.
    Sync,
    /// `rename`.
    Rename,
    /// Creating a file or a directory.
    Create,
    /// Removing a file.
    Remove,
}

#[derive(Clone, Debug)]
struct Fault {
    op: FaultOp,
    path_contains: String,
    errno: i32,
    /// Failures left; `u32::MAX` for "until cleared".
    left: u32,
}

const SECTOR: u64 = 512;
const ROOT: u64 = 0;

#[derive(Clone, Debug)]
enum FileOp {
    Write { pos: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Clone, Debug)]
enum DirOp {
    Link(String, u64),
    Unlink(String),
    Rename { from: String, to: String, ino: u64 },
}

#[derive(Debug, Default)]
struct FileNode {
    live: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<FileOp>,
}

#[derive(Debug, Default)]
struct DirNode {
    live: BTreeMap<String, u64>,
    durable: BTreeMap<String, u64>,
    pending: Vec<DirOp>,
}

#[derive(Debug)]
enum Node {
    File(FileNode),
    Dir(DirNode),
}

#[derive(Debug)]
struct Disk {
    gen: u64,
    nodes: BTreeMap<u64, Node>,
    next_ino: u64,
    next_handle: u64,
    /// inode -> the handle holding its lock.
    locks: BTreeMap<u64, u64>,
    faults: Vec<Fault>,
    /// Mutating operations left before the process dies (`None`: it does not).
    die_after: Option<u64>,
    dead: bool,
    clock: Duration,
    /// Injected errors returned so far.
    faults_hit: u64,
}

/// The simulated disk, shared by the "processes" that run on it one after another.
#[derive(Debug)]
pub(crate) struct SimDisk {
    disk: Mutex<Disk>,
}

/// One process's view of a [`SimDisk`]: its handles stop working when the disk loses power.
#[derive(Debug)]
struct SimFs {
    disk: Arc<SimDisk>,
    gen: u64,
}

#[derive(Debug)]
struct SimFile {
    disk: Arc<SimDisk>,
    gen: u64,
    ino: u64,
    handle: u64,
    path: String,
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

impl FileOp {
    fn apply(&self, data: &mut Vec<u8>) {
        match self {
            FileOp::Write { pos, data: d } => {
                let end = *pos as usize + d.len();
                if data.len() < end {
                    data.resize(end, 0);
                }
                data[*pos as usize..end].copy_from_slice(d);
            }
            FileOp::SetLen(n) => data.resize(*n as usize, 0),
        }
    }
}

impl DirOp {
    fn apply(&self, entries: &mut BTreeMap<String, u64>) {
        match self {
            DirOp::Link(name, ino) => {
                entries.insert(name.clone(), *ino);
            }
            DirOp::Unlink(name) => {
                entries.remove(name);
            }
            DirOp::Rename { from, to, ino } => {
                entries.remove(from);
                entries.insert(to.clone(), *ino);
            }
        }
    }
}

/// Which pending operations survive a power loss: a prefix (the last write possibly torn), all,
/// none, or a random subset (reordered).
fn survivors<T: Clone>(rng: &mut Rng, pending: &[T]) -> (Vec<T>, bool) {
    let n = pending.len() as u64;
    if n == 0 {
        return (Vec::new(), false);
    }
    match rng.below(10) {
        0 => (Vec::new(), false),
        1 => (pending.to_vec(), false),
        2 | 3 => (pending.iter().filter(|_| rng.one_in(2)).cloned().collect(), false),
        _ => {
            let k = rng.below(n + 1) as usize;
            (pending[..k].to_vec(), rng.one_in(2))
        }
    }
}

/// Cuts a write at a random sector boundary inside it (a write inside one sector is atomic).
fn tear(rng: &mut Rng, op: &mut FileOp) {
    if let FileOp::Write { pos, data } = op {
        let end = *pos + data.len() as u64;
        let first = (*pos / SECTOR + 1) * SECTOR;
        if first < end {
            let cuts = (end - 1 - first) / SECTOR + 1;
            let cut = first + rng.below(cuts) * SECTOR;
            data.truncate((cut - *pos) as usize);
        }
    }
}

impl Disk {
    fn new() -> Disk {
        let mut nodes = BTreeMap::new();
        nodes.insert(ROOT, Node::Dir(DirNode::default()));
        Disk {
            gen: 0,
            nodes,
            next_ino: 1,
            next_handle: 1,
            locks: BTreeMap::new(),
            faults: Vec::new(),
            die_after: None,
            dead: false,
            clock: Duration::ZERO,
            faults_hit: 0,
        }
    }

    /// Checks that `gen` may still act, and counts a mutating operation toward the planned death.
    fn alive(&mut self, gen: u64, mutating: bool) -> io::Result<()> {
        if gen != self.gen || self.dead {
            return Err(errno(libc::EIO));
        }
        if mutating {
            if let Some(left) = self.die_after.as_mut() {
                if *left == 0 {
                    self.dead = true;
                    return Err(errno(libc::EIO));
                }
                *left -= 1;
            }
        }
        Ok(())
    }

    fn fault(&mut self, op: FaultOp, path: &str) -> io::Result<()> {
        for f in &mut self.faults {
            if f.op == op && f.left > 0 && path.contains(&f.path_contains) {
                if f.left != u32::MAX {
                    f.left -= 1;
                }
                self.faults_hit += 1;
                return Err(errno(f.errno));
            }
        }
        Ok(())
    }

    fn dir(&self, ino: u64) -> io::Result<&DirNode> {
        match self.nodes.get(&ino) {
            Some(Node::Dir(d)) => Ok(d),
            Some(Node::File(_)) => Err(io::Error::from(io::ErrorKind::NotADirectory)),
            None => Err(not_found()),
        }
    }

    fn dir_mut(&mut self, ino: u64) -> &mut DirNode {
        match self.nodes.get_mut(&ino) {
            Some(Node::Dir(d)) => d,
            _ => unreachable!("checked by dir()"),
        }
    }

    fn file_mut(&mut self, ino: u64) -> &mut FileNode {
        match self.nodes.get_mut(&ino) {
            Some(Node::File(f)) => f,
            _ => unreachable!("a file handle's inode is a file"),
        }
    }

    /// The inode at `path` in the live tree.
    fn resolve(&self, path: &Path) -> io::Result<u64> {
        let mut ino = ROOT;
        for c in path.components() {
            match c {
                Component::RootDir | Component::CurDir => {}
                Component::Normal(name) => {
                    let name = name.to_str().ok_or_else(not_found)?;
                    ino = *self.dir(ino)?.live.get(name).ok_or_else(not_found)?;
                }
                _ => return Err(io::Error::other("sim: unsupported path component")),
            }
        }
        Ok(ino)
    }

    /// The directory inode holding `path` and the file name.
    fn parent(&self, path: &Path) -> io::Result<(u64, String)> {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(not_found)?.to_string();
        let parent = self.resolve(path.parent().ok_or_else(not_found)?)?;
        self.dir(parent)?;
        Ok((parent, name))
    }

    fn link(&mut self, dir: u64, name: &str, node: Node) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(ino, node);
        let d = self.dir_mut(dir);
        d.live.insert(name.to_string(), ino);
        d.pending.push(DirOp::Link(name.to_string(), ino));
        ino
    }

    fn unlink(&mut self, dir: u64, name: &str) {
        let d = self.dir_mut(dir);
        d.live.remove(name);
        d.pending.push(DirOp::Unlink(name.to_string()));
    }

    fn power_loss(&mut self, rng: &mut Rng) {
        for node in self.nodes.values_mut() {
            match node {
                Node::File(f) => {
                    let (mut keep, torn) = survivors(rng, &f.pending);
                    if torn {
                        if let Some(last) = keep.last_mut() {
                            tear(rng, last);
                        }
                    }
                    for op in &keep {
                        op.apply(&mut f.durable);
                    }
                    f.live = f.durable.clone();
                    f.pending.clear();
                }
                Node::Dir(d) => {
                    let (keep, _) = survivors(rng, &d.pending);
                    for op in &keep {
                        op.apply(&mut d.durable);
                    }
                    d.live = d.durable.clone();
                    d.pending.clear();
                }
            }
        }
        // drop what no durable name reaches any more
        let mut reachable = std::collections::BTreeSet::from([ROOT]);
        let mut stack = vec![ROOT];
        while let Some(ino) = stack.pop() {
            if let Some(Node::Dir(d)) = self.nodes.get(&ino) {
                for &child in d.durable.values() {
                    if reachable.insert(child) {
                        stack.push(child);
                    }
                }
            }
        }
        self.nodes.retain(|ino, _| reachable.contains(ino));
        for node in self.nodes.values_mut() {
            if let Node::Dir(d) = node {
                d.live = d.durable.clone();
            }
        }
        self.gen += 1;
        self.locks.clear();
        self.dead = false;
        self.die_after = None;
    }
}

impl SimDisk {
    /// An empty disk (just `/`).
    pub(crate) fn new() -> Arc<SimDisk> {
        Arc::new(SimDisk { disk: Mutex::new(Disk::new()) })
    }

    fn lock(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A storage for the current process (until the next power loss).
    pub(crate) fn process(self: &Arc<Self>) -> StorageRef {
        let gen = self.lock().gen;
        Arc::new(SimFs { disk: Arc::clone(self), gen })
    }

    /// The process dies at its `n`-th mutating operation from now (that one fails, and all after).
    pub(crate) fn die_after(&self, n: u64) {
        self.lock().die_after = Some(n);
    }

    /// Whether the process has died (see [`die_after`](Self::die_after)).
    pub(crate) fn is_dead(&self) -> bool {
        self.lock().dead
    }

    /// Power loss: keeps the durable state and a random part of the rest (see the module doc).
    pub(crate) fn power_loss(&self, rng: &mut Rng) {
        self.lock().power_loss(rng);
    }

    /// Makes the next `times` operations `op` on paths containing `path_contains` fail with `errno`.
    pub(crate) fn fail(&self, op: FaultOp, path_contains: &str, errno: i32, times: u32) {
        self.lock().faults.push(Fault { op, path_contains: path_contains.into(), errno, left: times });
    }

    /// Clears every injected error.
    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Injected errors returned so far.
    pub(crate) fn faults_hit(&self) -> u64 {
        self.lock().faults_hit
    }

    /// Moves the clock on.
    pub(crate) fn advance(&self, by: Duration) {
        self.lock().clock += by;
    }

    /// The names in `dir` as the running process sees them, even after it died (for checks).
    pub(crate) fn live_list(&self, dir: &Path) -> Vec<String> {
        let d = self.lock();
        d.resolve(dir).and_then(|ino| d.dir(ino).map(|n| n.live.keys().cloned().collect())).unwrap_or_default()
    }
}

impl SimFs {
    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock()
    }

    fn handle(&self, d: &mut Disk, ino: u64, path: &Path) -> FileRef {
        let handle = d.next_handle;
        d.next_handle += 1;
        Arc::new(SimFile { disk: Arc::clone(&self.disk), gen: self.gen, ino, handle, path: path.display().to_string() })
    }
}

mod handles;
#[cfg(test)]
mod tests;
