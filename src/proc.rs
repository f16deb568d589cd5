//! Read-only facts about processes: liveness, command lines, start times, port listeners.
//! Linux reads `/proc`; elsewhere the slower `ps` fallback covers what launchd hosts need.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// One process, as far as clawkit needs it. The environment is read separately
/// ([`environ`]) and never serialized.
#[derive(Debug, Clone, Serialize)]
pub struct ProcInfo {
    pub pid: u32,
    pub ppid: u32,
    /// Start time in clock ticks since boot (`/proc/PID/stat` field 22), as OpenClaw's locks store it.
    pub start_ticks: Option<u64>,
    pub started_at: Option<SystemTime>,
    pub cmdline: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// The executable (`/proc/PID/exe`): survives `process.title` rewriting argv.
    pub exe: Option<PathBuf>,
}

/// True when a process with this pid exists (a zombie counts as dead).
pub fn alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    use nix::errno::Errno;
    let exists = match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None) {
        Ok(()) => true,
        Err(Errno::EPERM) => true,
        Err(_) => false,
    };
    exists && !is_zombie(pid)
}

#[cfg(target_os = "linux")]
fn is_zombie(pid: u32) -> bool {
    read_stat(pid).is_some_and(|s| s.state == 'Z')
}

#[cfg(not(target_os = "linux"))]
fn is_zombie(_pid: u32) -> bool {
    false
}

#[cfg(target_os = "linux")]
struct Stat {
    state: char,
    ppid: u32,
    start_ticks: u64,
}

#[cfg(target_os = "linux")]
fn read_stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(target_os = "linux")]
fn boot_time() -> Option<SystemTime> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let secs: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(target_os = "linux")]
fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100, |v| v as u64)
}

#[cfg(target_os = "linux")]
pub fn info(pid: u32) -> Option<ProcInfo> {
    let stat = read_stat(pid)?;
    if stat.state == 'Z' {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let started_at = boot_time().map(|b| {
        let t = stat.start_ticks;
        let hz = clock_ticks();
        b + Duration::from_millis(t * 1000 / hz)
    });
    Some(ProcInfo {
        pid,
        ppid: stat.ppid,
        start_ticks: Some(stat.start_ticks),
        started_at,
        cmdline,
        cwd: std::fs::read_link(format!("/proc/{pid}/cwd")).ok(),
        exe: std::fs::read_link(format!("/proc/{pid}/exe")).ok(),
    })
}

/// Where a process's stdout goes, when it is a regular file (to keep logging there).
#[cfg(target_os = "linux")]
pub fn stdout_file(pid: u32) -> Option<PathBuf> {
    let p = std::fs::read_link(format!("/proc/{pid}/fd/1")).ok()?;
    std::fs::metadata(&p).ok()?.is_file().then_some(p)
}

#[cfg(not(target_os = "linux"))]
pub fn stdout_file(_pid: u32) -> Option<PathBuf> {
    None
}

#[cfg(not(target_os = "linux"))]
pub fn info(pid: u32) -> Option<ProcInfo> {
    let out = crate::exec::Cmd::new("ps")
        .args(["-o", "ppid=,etime=,command=", "-p", &pid.to_string()])
        .timeout(Duration::from_secs(3))
        .run()
        .ok()?;
    let line = out.stdout.lines().next()?.trim().to_string();
    let mut parts = line.split_whitespace();
    let ppid = parts.next()?.parse().ok()?;
    let _etime = parts.next()?;
    Some(ProcInfo {
        pid,
        ppid,
        start_ticks: None,
        started_at: None,
        cmdline: parts.map(String::from).collect(),
        cwd: None,
        exe: None,
    })
}

/// The environment of a process, for relaunching it the same way. Never print it.
#[cfg(target_os = "linux")]
pub fn environ(pid: u32) -> Option<Vec<(OsString, OsString)>> {
    use std::os::unix::ffi::OsStrExt;
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter_map(|kv| {
                let i = kv.iter().position(|b| *b == b'=')?;
                Some((
                    std::ffi::OsStr::from_bytes(&kv[..i]).to_os_string(),
                    std::ffi::OsStr::from_bytes(&kv[i + 1..]).to_os_string(),
                ))
            })
            .collect(),
    )
}

#[cfg(not(target_os = "linux"))]
pub fn environ(_pid: u32) -> Option<Vec<(OsString, OsString)>> {
    None
}

/// Every pid on the system.
#[cfg(target_os = "linux")]
pub fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(not(target_os = "linux"))]
pub fn all_pids() -> Vec<u32> {
    Vec::new()
}

/// Is `pid` the process `ancestor` or one of its descendants?
pub fn descends_from(pid: u32, ancestor: u32) -> bool {
    let mut p = pid;
    for _ in 0..64 {
        if p == ancestor {
            return true;
        }
        match info_ppid(p) {
            Some(pp) if pp > 1 && pp != p => p = pp,
            _ => return false,
        }
    }
    false
}

/// Direct children of `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|p| info_ppid(*p) == Some(pid))
        .collect()
}

#[cfg(target_os = "linux")]
fn info_ppid(pid: u32) -> Option<u32> {
    read_stat(pid).map(|s| s.ppid)
}

#[cfg(not(target_os = "linux"))]
fn info_ppid(pid: u32) -> Option<u32> {
    info(pid).map(|i| i.ppid)
}

/// The pid listening on a loopback TCP port, when this user can see it.
#[cfg(target_os = "linux")]
pub fn listener_pid(port: u16) -> Option<u32> {
    let inodes = listening_inodes(Some(port));
    if inodes.is_empty() {
        return None;
    }
    for pid in all_pids() {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if inodes.iter().any(|i| target.as_os_str() == i.as_str()) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// The socket inodes (`socket:[N]`) listening on TCP `port` (any port for `None`).
#[cfg(target_os = "linux")]
fn listening_inodes(port: Option<u16>) -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEXIP:HEXPORT, st 0A = LISTEN, inode is field 9
            let (Some(local), Some(st), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            let lport = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if *st == "0A" && *inode != "0" && port.is_none_or(|p| lport == Some(p)) {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    inodes
}

/// Does `pid` hold a listening TCP socket? `None` where that cannot be read.
#[cfg(target_os = "linux")]
pub fn listens(pid: u32) -> Option<bool> {
    let inodes = listening_inodes(None);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|t| inodes.iter().any(|i| t.as_os_str() == i.as_str()))
    }))
}

#[cfg(not(target_os = "linux"))]
pub fn listens(_pid: u32) -> Option<bool> {
    None
}

#[cfg(not(target_os = "linux"))]
pub fn listener_pid(port: u16) -> Option<u32> {
    let out = crate::exec::Cmd::new("lsof")
        .args(["-nP", &format!("-iTCP:{port}"), "-sTCP:LISTEN", "-t"])
        .timeout(Duration::from_secs(3))
        .run()
        .ok()?;
    out.stdout.lines().next()?.trim().parse().ok()
}

/// True when something accepts TCP connections on 127.0.0.1 (or ::1) at `port`.
pub fn port_open(port: u16) -> bool {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
    let t = Duration::from_millis(150);
    [
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
    ]
    .iter()
    .any(|a| TcpStream::connect_timeout(a, t).is_ok())
}

/// The files a process has open (`/proc/PID/fd` targets that are paths).
#[cfg(target_os = "linux")]
pub fn open_files(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter(|t| t.is_absolute())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(not(target_os = "linux"))]
pub fn open_files(_pid: u32) -> Vec<PathBuf> {
    Vec::new()
}

/// Processes other than clawkit that have a file under `dir` open, files under `ignore` aside
/// (an OpenClaw process working on a state dir holds its database and lock files open; a
/// `tail -f` on a log does not count).
pub fn holders_under(dir: &std::path::Path, ignore: &[PathBuf]) -> Vec<u32> {
    let canon = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let dir = canon(dir);
    let ignore: Vec<PathBuf> = ignore.iter().map(|p| canon(p)).collect();
    let me = std::process::id();
    all_pids()
        .into_iter()
        .filter(|p| *p != me)
        .filter(|p| {
            open_files(*p)
                .iter()
                .any(|f| f.starts_with(&dir) && !ignore.iter().any(|i| f.starts_with(i)))
        })
        .collect()
}

/// Sends a signal; false when the process was already gone.
pub fn signal(pid: u32, sig: nix::sys::signal::Signal) -> bool {
    pid > 0
        && pid <= i32::MAX as u32
        && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_itself() {
        let me = std::process::id();
        assert!(alive(me));
        let i = info(me).unwrap();
        assert_eq!(i.pid, me);
        assert!(!i.cmdline.is_empty());
        assert!(i.started_at.unwrap() <= SystemTime::now());
        assert!(environ(me).unwrap().iter().any(|(k, _)| k == "PATH"));
    }

    #[test]
    fn dead_pid_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
        assert!(!alive(0));
    }

    #[test]
    fn finds_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(port_open(port));
        assert_eq!(listener_pid(port), Some(std::process::id()));
        drop(l);
        assert!(!port_open(port));
    }
}
