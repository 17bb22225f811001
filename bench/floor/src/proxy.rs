//! The accuracy phase's delaying proxy (`flowprobe-floor proxy ...`).
//!
//! Two listening ports in front of one upstream. Each holds the client's
//! first bytes (the ClientHello) until `hold` after the kernel saw them
//! arrive (SO_TIMESTAMPNS), the delayed port `hold + delay`, then forwards
//! both ways at once. The two paths then differ by exactly `delay`, and the
//! proxy's own per-connection set-up (thread, upstream connect) is hidden
//! inside the hold. Threads, not an event loop: a forwarding thread blocked
//! in read wakes as soon as the kernel has data. Each applied hold (ms
//! after arrival) is appended to the log as "port ms".

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

fn enable_timestamps(fd: i32) {
    let on: libc::c_int = 1;
    // SAFETY: `on` outlives the call and is the c_int SO_TIMESTAMPNS takes.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// The first bytes from the client and when they arrived.
fn first_bytes(c: &TcpStream) -> Option<(Vec<u8>, Instant)> {
    let mut buf = vec![0u8; 65536];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; zeroed is an empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: iov and control point at buffers that outlive the call.
    let n = unsafe { libc::recvmsg(c.as_raw_fd(), &raw mut msg, 0) };
    let (now, now_real) = (Instant::now(), SystemTime::now());
    if n <= 0 {
        return None;
    }
    let mut arrival = now;
    // SAFETY: walking the control data the kernel wrote, within its length.
    unsafe {
        let mut h = libc::CMSG_FIRSTHDR(&raw const msg);
        while !h.is_null() {
            if (*h).cmsg_level == libc::SOL_SOCKET && (*h).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(h).cast());
                let at =
                    SystemTime::UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
                if let Ok(age) = now_real.duration_since(at)
                    && age < Duration::from_secs(1)
                {
                    arrival = now - age;
                }
            }
            h = libc::CMSG_NXTHDR(&raw const msg, h);
        }
    }
    buf.truncate(n as usize);
    Some((buf, arrival))
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

fn handle(
    c: TcpStream,
    upstream: SocketAddr,
    port: u16,
    hold: Duration,
    log: &Mutex<std::fs::File>,
) {
    let Ok(u) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = c.set_nodelay(true);
    let _ = u.set_nodelay(true);
    let Some((first, arrival)) = first_bytes(&c) else {
        return;
    };
    let end = arrival + hold;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let left = end - now;
        if left > Duration::from_micros(300) {
            std::thread::sleep(left - Duration::from_micros(200));
        } else {
            std::hint::spin_loop();
        }
    }
    let mut uw = match u.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    };
    if uw.write_all(&first).is_err() {
        return;
    }
    let applied = arrival.elapsed().as_secs_f64() * 1000.0;
    if let Ok(mut f) = log.lock() {
        let _ = writeln!(f, "{port} {applied:.3}");
    }
    let (Ok(c2), Ok(u2)) = (c.try_clone(), u.try_clone()) else {
        return;
    };
    std::thread::spawn(move || pipe(u2, c2));
    pipe(c, uw);
}

fn listen(port: u16, upstream: SocketAddr, hold: Duration, log: Arc<Mutex<std::fs::File>>) {
    let l = TcpListener::bind(("127.0.0.1", port)).expect("bind proxy port");
    // Accepted sockets inherit the flag, and the kernel stamps packets
    // from the first one on.
    enable_timestamps(l.as_raw_fd());
    for c in l.incoming().flatten() {
        let log = Arc::clone(&log);
        std::thread::spawn(move || handle(c, upstream, port, hold, &log));
    }
}

/// `proxy DIRECT_PORT DELAYED_PORT UPSTREAM HOLD_MS DELAY_MS LOG`
pub fn main(args: &[String]) {
    let direct: u16 = args[0].parse().expect("DIRECT_PORT");
    let delayed: u16 = args[1].parse().expect("DELAYED_PORT");
    let upstream: SocketAddr = args[2].parse().expect("UPSTREAM ip:port");
    let hold = Duration::from_secs_f64(args[3].parse::<f64>().expect("HOLD_MS") / 1000.0);
    let delay = Duration::from_secs_f64(args[4].parse::<f64>().expect("DELAY_MS") / 1000.0);
    let log = Arc::new(Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args[5])
            .expect("log file"),
    ));
    let l2 = Arc::clone(&log);
    std::thread::spawn(move || listen(direct, upstream, hold, l2));
    listen(delayed, upstream, hold + delay, log);
}
