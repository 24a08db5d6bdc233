//! The simulated disk's handles: [`Storage`] for one process's view, [`StorageFile`] for its files.

use std::io;
use std::path::Path;
use std::time::Duration;

use std::sync::MutexGuard;

use super::{not_found, DirNode, DirOp, Disk, FaultOp, FileNode, FileOp, Node, SimFile, SimFs};
use crate::log::io::{FileRef, Open, Stat, Storage, StorageFile};

impl Storage for SimFs {
    fn open(&self, path: &Path, how: Open) -> io::Result<FileRef> {
        let mut d = self.disk();
        let creating = matches!(how, Open::Create | Open::Truncate);
        d.alive(self.gen, creating)?;
        let (dir, name) = d.parent(path)?;
        let p = path.display().to_string();
        let ino = match d.dir(dir)?.live.get(&name).copied() {
            Some(ino) => {
                if matches!(d.nodes.get(&ino), Some(Node::Dir(_))) {
                    return Err(io::Error::from(io::ErrorKind::IsADirectory));
                }
                if how == Open::Truncate {
                    d.fault(FaultOp::Write, &p)?;
                    let f = d.file_mut(ino);
                    f.live.clear();
                    f.pending.push(FileOp::SetLen(0));
                }
                ino
            }
            None if creating => {
                d.fault(FaultOp::Create, &p)?;
                d.link(dir, &name, Node::File(FileNode::default()))
            }
            None => return Err(not_found()),
        };
        Ok(self.handle(&mut d, ino, path))
    }

    fn stat(&self, path: &Path) -> io::Result<Option<Stat>> {
        let mut d = self.disk();
        d.alive(self.gen, false)?;
        let Ok(ino) = d.resolve(path) else { return Ok(None) };
        Ok(Some(match d.nodes.get(&ino) {
            Some(Node::File(f)) => Stat { is_dir: false, len: f.live.len() as u64 },
            _ => Stat { is_dir: true, len: 0 },
        }))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut d = self.disk();
        d.alive(self.gen, false)?;
        let ino = d.resolve(dir)?;
        Ok(d.dir(ino)?.live.keys().cloned().collect())
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        let mut d = self.disk();
        d.alive(self.gen, true)?;
        let (parent, name) = d.parent(dir)?;
        if d.dir(parent)?.live.contains_key(&name) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        d.fault(FaultOp::Create, &dir.display().to_string())?;
        d.link(parent, &name, Node::Dir(DirNode::default()));
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut d = self.disk();
        d.alive(self.gen, true)?;
        let (dir, from_name) = d.parent(from)?;
        let (to_dir, to_name) = d.parent(to)?;
        if dir != to_dir {
            return Err(io::Error::other("sim: rename across directories is not modelled"));
        }
        d.fault(FaultOp::Rename, &from.display().to_string())?;
        let ino = *d.dir(dir)?.live.get(&from_name).ok_or_else(not_found)?;
        if let Some(&old) = d.dir(dir)?.live.get(&to_name) {
            if matches!(d.nodes.get(&old), Some(Node::Dir(_))) {
                return Err(io::Error::from(io::ErrorKind::DirectoryNotEmpty));
            }
        }
        let entries = d.dir_mut(dir);
        entries.live.remove(&from_name);
        entries.live.insert(to_name.clone(), ino);
        entries.pending.push(DirOp::Rename { from: from_name, to: to_name, ino });
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut d = self.disk();
        d.alive(self.gen, true)?;
        let (dir, name) = d.parent(path)?;
        let ino = *d.dir(dir)?.live.get(&name).ok_or_else(not_found)?;
        if matches!(d.nodes.get(&ino), Some(Node::Dir(_))) {
            return Err(io::Error::from(io::ErrorKind::IsADirectory));
        }
        d.fault(FaultOp::Remove, &path.display().to_string())?;
        d.unlink(dir, &name);
        Ok(())
    }

    fn remove_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut d = self.disk();
        d.alive(self.gen, true)?;
        let (parent, name) = d.parent(dir)?;
        if !d.dir(parent)?.live.contains_key(&name) {
            return Err(not_found());
        }
        d.unlink(parent, &name);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut d = self.disk();
        d.alive(self.gen, true)?;
        let ino = d.resolve(dir)?;
        d.dir(ino)?;
        d.fault(FaultOp::Sync, &dir.display().to_string())?;
        let entries = d.dir_mut(ino);
        for op in std::mem::take(&mut entries.pending) {
            op.apply(&mut entries.durable);
        }
        Ok(())
    }

    fn timers(&self) -> bool {
        false
    }

    fn clock(&self) -> Duration {
        self.disk().clock
    }

    fn wall_ms(&self) -> i64 {
        // a fixed epoch keeps batches byte-identical for a seed
        1_700_000_000_000 + self.disk().clock.as_millis() as i64
    }
}

impl SimFile {
    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock()
    }
}

impl StorageFile for SimFile {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        let mut d = self.disk();
        d.alive(self.gen, false)?;
        let f = d.file_mut(self.ino);
        let start = (pos as usize).min(f.live.len());
        let n = buf.len().min(f.live.len() - start);
        buf[..n].copy_from_slice(&f.live[start..start + n]);
        Ok(n)
    }

    fn write_all_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        let mut d = self.disk();
        d.alive(self.gen, true)?;
        if let Err(e) = d.fault(FaultOp::Write, &self.path) {
            // a failing write may have copied part of the buffer first
            let part = FileOp::Write { pos, data: buf[..buf.len() / 2].to_vec() };
            let f = d.file_mut(self.ino);
            part.apply(&mut f.live);
            f.pending.push(part);
            return Err(e);
        }
        let op = FileOp::Write { pos, data: buf.to_vec() };
        let f = d.file_mut(self.ino);
        op.apply(&mut f.live);
        f.pending.push(op);
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        let mut d = self.disk();
        d.alive(self.gen, false)?;
        Ok(d.file_mut(self.ino).live.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut d = self.disk();
        d.alive(self.gen, true)?;
        if len > d.file_mut(self.ino).live.len() as u64 {
            d.fault(FaultOp::Write, &self.path)?; // shrinking needs no space
        }
        let op = FileOp::SetLen(len);
        let f = d.file_mut(self.ino);
        op.apply(&mut f.live);
        f.pending.push(op);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut d = self.disk();
        d.alive(self.gen, true)?;
        let failed = d.fault(FaultOp::Sync, &self.path);
        let f = d.file_mut(self.ino);
        let pending = std::mem::take(&mut f.pending);
        failed?; // the pages of a failed sync are clean but never reached the disk
        for op in &pending {
            op.apply(&mut f.durable);
        }
        Ok(())
    }

    fn try_lock(&self) -> io::Result<bool> {
        let mut d = self.disk();
        d.alive(self.gen, false)?;
        match d.locks.get(&self.ino) {
            Some(&h) => Ok(h == self.handle),
            None => {
                d.locks.insert(self.ino, self.handle);
                Ok(true)
            }
        }
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let mut d = self.disk();
        if d.gen == self.gen && d.locks.get(&self.ino) == Some(&self.handle) {
            d.locks.remove(&self.ino);
        }
    }
}
