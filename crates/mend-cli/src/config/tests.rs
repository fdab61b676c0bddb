//! The config file: defaults, systemd's words, and refusals that name the
//! file, line and key.

use std::path::Path;

use super::Config;

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(Path::new("/etc/mend/app.toml"), text, None).map_err(|e| e.to_string())
}

#[test]
fn a_minimal_file_gets_the_documented_defaults() {
    let config = parse("[services.web]\ncommand = [\"sleep\", \"60\"]\n").unwrap();
    assert_eq!(config.name, "app");
    assert_eq!(config.state_dir, Path::new("/etc/mend/app.state"));
    assert_eq!(config.services.len(), 1);
    let web = &config.services[0];
    assert_eq!(web.name(), "web");
    assert_eq!(web.argv(), ["sleep", "60"]);
    assert_eq!(web.restart_kind(), mend::supervise::Restart::Permanent);
}

#[test]
fn services_keep_their_order_and_systemd_words_map_to_kinds() {
    let config = parse(
        "[mend]\nstate_dir = \"state\"\n\
         [services.zeta]\nshell = \"exit 0\"\ntype = \"oneshot\"\n\
         [services.alpha]\ncommand = [\"true\"]\nrestart = \"on-failure\"\n\
         [services.mid]\ncommand = [\"true\"]\nrestart = \"never\"\n",
    )
    .unwrap();
    let names: Vec<&str> = config.services.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["zeta", "alpha", "mid"], "start order is file order");
    use mend::supervise::Restart;
    let kinds: Vec<Restart> = config.services.iter().map(|s| s.restart_kind()).collect();
    assert_eq!(
        kinds,
        [Restart::Temporary, Restart::Transient, Restart::Temporary]
    );
    assert_eq!(config.services[0].argv(), ["/bin/sh", "-c", "exit 0"]);
    assert_eq!(config.state_dir, Path::new("/etc/mend/state"));
}

#[test]
fn refusals_name_the_file_line_and_key() {
    let cases = [
        (
            "[services.web]\ncommand = [\"x\"]\nrestart = \"sometimes\"\n",
            "/etc/mend/app.toml:3:11: `services.web.restart`: unknown variant `sometimes`, expected one of `always`, `on-failure`, `never`",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nrestrat = \"always\"\n",
            "/etc/mend/app.toml:3:1: `services.web.restrat`: unknown field `restrat`, expected one of `command`",
        ),
        (
            "[services.web]\ncommand = \"x y\"\n",
            "/etc/mend/app.toml:2:11: `services.web.command`: invalid type: string \"x y\", expected a sequence",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nstop_grace = \"soon\"\n",
            "/etc/mend/app.toml:3:14: `services.web.stop_grace`: invalid duration \"soon\"",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nstop_signal = \"SIGNOPE\"\n",
            "/etc/mend/app.toml:3:15: `services.web.stop_signal`: unknown signal \"SIGNOPE\"",
        ),
        (
            "\n[services.web]\nrestart = \"always\"\n",
            "/etc/mend/app.toml:2:1: `services.web`: no `command`",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\n\n  user = \"no-such-user-here\"\n",
            "/etc/mend/app.toml:4:3: `services.web.user`: no user `no-such-user-here` in /etc/passwd",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nstop_grace = \"2h\"\n",
            "/etc/mend/app.toml:3:1: `services.web.stop_grace`: invalid value 7200s: expected a duration from 0ns to 3600s",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nstart_limit_interval = \"0s\"\n",
            "/etc/mend/app.toml:3:1: `services.web.start_limit_interval`: invalid value 0ns",
        ),
        (
            "[services.\"a b\"]\ncommand = [\"x\"]\n",
            "/etc/mend/app.toml:1:1: `services.a b`: `name`: invalid value \"a b\"",
        ),
        (
            "[services.web]\ncommand = [\"x\"\n",
            "/etc/mend/app.toml:2:",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nreload_timeout = \"5s\"\n",
            "/etc/mend/app.toml:3:1: `services.web.reload_timeout`: `reload_timeout` needs `reload`",
        ),
        (
            "[services.web]\ncommand = [\"x\"]\nreload = []\n",
            "/etc/mend/app.toml:3:1: `services.web.reload`: invalid value []: expected a program to run",
        ),
        (
            "[api]\n\nlisten = \"0.0.0.0:9750\"\n",
            "/etc/mend/app.toml:3:1: `api.listen`: 0.0.0.0:9750 is reachable from other machines: a non-loopback address needs `token_file`",
        ),
        (
            "[api]\nlisten = \"localhost:9750\"\n",
            "/etc/mend/app.toml:2:10: `api.listen`: invalid socket address syntax",
        ),
        (
            "[api]\nlisten = \"127.0.0.1:9750\"\ntoken_file = \"/nonexistent/token\"\n",
            "/etc/mend/app.toml:3:1: `api.token_file`: cannot read /nonexistent/token",
        ),
    ];
    for (text, expected) in cases {
        let err = parse(text).unwrap_err();
        assert!(
            err.starts_with(expected),
            "for\n{text}\ngot:      {err}\nexpected: {expected}..."
        );
    }
}

#[test]
fn the_api_on_loopback_needs_no_token_and_a_short_token_is_refused() {
    let tcp = parse("[api]\nlisten = \"127.0.0.1:0\"\n")
        .unwrap()
        .tcp_api
        .unwrap();
    assert_eq!(
        (tcp.listen.to_string(), tcp.token),
        ("127.0.0.1:0".into(), None)
    );
    assert!(parse("[mend]\n").unwrap().tcp_api.is_none());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    #[allow(clippy::disallowed_methods, reason = "a test's token file")]
    std::fs::write(&file, "short\n").unwrap();
    let text = format!(
        "[api]\nlisten = \"[::1]:0\"\ntoken_file = \"{}\"\n",
        file.display()
    );
    let err = parse(&text).unwrap_err();
    assert!(
        err.contains("`api.token_file`") && err.contains("a token of 5 characters"),
        "{err}"
    );
    #[allow(clippy::disallowed_methods, reason = "a test's token file")]
    std::fs::write(&file, "0123456789abcdef-and-more\nignored\n").unwrap();
    let tcp = parse(&text).unwrap().tcp_api.unwrap();
    assert_eq!(tcp.token.as_deref(), Some("0123456789abcdef-and-more"));
    let err = parse(&format!("[api]\ntoken_file = \"{}\"\n", file.display())).unwrap_err();
    assert!(err.contains("a token needs an address to guard"), "{err}");
}
