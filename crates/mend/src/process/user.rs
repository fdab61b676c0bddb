//! Looking up a user and group by name (or number) in `/etc/passwd` and
//! `/etc/group`, for a service that runs as someone else. Only the files:
//! users that exist only in LDAP or another NSS source are not found
//! (give their numbers instead).

use std::io;

pub use mend_sys::Credentials;

use super::sys;

/// The credentials of `user` (a name or a uid), with `group` (a name or a
/// gid; default: the user's primary group) and, as supplementary groups,
/// every group of `/etc/group` that lists the user.
///
/// # Errors
///
/// `NotFound` naming the user or group, or the files' read errors.
///
/// # Examples
///
/// ```
/// let root = mend::process::credentials_for("root", None)?;
/// assert_eq!((root.uid, root.gid), (0, 0));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn credentials_for(user: &str, group: Option<&str>) -> io::Result<Credentials> {
    let passwd = sys::read("/etc/passwd")?;
    let groups = sys::read("/etc/group").unwrap_or_default();
    resolve(&passwd, &groups, user, group)
}

fn resolve(passwd: &str, groups: &str, user: &str, group: Option<&str>) -> io::Result<Credentials> {
    let entry = passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 4 && (f[0] == user || f[2] == user));
    let (name, uid, primary) = match entry {
        Some(f) => (
            f[0].to_owned(),
            f[2].parse().map_err(|_| bad("uid", f[2]))?,
            f[3].parse().map_err(|_| bad("gid", f[3]))?,
        ),
        // A number not in the file is still a user id.
        None => match user.parse::<u32>() {
            Ok(uid) => (String::new(), uid, uid),
            Err(_) => return Err(not_found(format!("no user `{user}` in /etc/passwd"))),
        },
    };
    let table: Vec<Vec<&str>> = groups
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
        .collect();
    let gid = match group {
        None => primary,
        Some(group) => match table.iter().find(|f| f[0] == group || f[2] == group) {
            Some(f) => f[2].parse().map_err(|_| bad("gid", f[2]))?,
            None => group
                .parse()
                .map_err(|_| not_found(format!("no group `{group}` in /etc/group")))?,
        },
    };
    let mut supplementary: Vec<u32> = table
        .iter()
        .filter(|f| {
            !name.is_empty()
                && f.get(3)
                    .is_some_and(|members| members.split(',').any(|m| m == name))
        })
        .filter_map(|f| f[2].parse().ok())
        .collect();
    supplementary.retain(|&g| g != gid);
    supplementary.insert(0, gid);
    Ok(Credentials {
        uid,
        gid,
        groups: supplementary,
    })
}

fn bad(what: &str, value: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad {what} `{value}`"))
}

fn not_found(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
                          app:x:1000:1000::/home/app:/bin/sh\n";
    const GROUP: &str =
        "root:x:0:\nadm:x:4:app,other\nnogroup:x:65534:\napp:x:1000:\nweb:x:33:app\n";

    #[test]
    fn names_and_numbers_resolve_with_supplementary_groups() {
        let app = resolve(PASSWD, GROUP, "app", None).unwrap();
        assert_eq!((app.uid, app.gid), (1000, 1000));
        assert_eq!(app.groups, [1000, 4, 33]);
        let as_web = resolve(PASSWD, GROUP, "1000", Some("web")).unwrap();
        assert_eq!((as_web.uid, as_web.gid), (1000, 33));
        assert_eq!(as_web.groups, [33, 4]);
        let nobody = resolve(PASSWD, GROUP, "nobody", Some("nogroup")).unwrap();
        assert_eq!(
            (nobody.uid, nobody.gid, nobody.groups),
            (65534, 65534, vec![65534])
        );
        let unnamed = resolve(PASSWD, GROUP, "4242", Some("4343")).unwrap();
        assert_eq!((unnamed.uid, unnamed.gid), (4242, 4343));
        let missing = resolve(PASSWD, GROUP, "ghost", None).unwrap_err();
        assert_eq!(missing.to_string(), "no user `ghost` in /etc/passwd");
        assert!(resolve(PASSWD, GROUP, "app", Some("ghosts")).is_err());
    }
}
