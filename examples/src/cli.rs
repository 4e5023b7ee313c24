//! The gateway's command line: `gateway [--listen ADDR] [--config FILE]`.
//!
//! ```
//! use agent_gateway_examples::cli::{Args, Command};
//!
//! let args = Args::parse(["--listen", "127.0.0.1:0", "--config", "gw.toml"]).unwrap();
//! let Command::Run(args) = args else { panic!() };
//! assert_eq!(args.listen.unwrap().port(), 0);
//! assert_eq!(args.config.unwrap().to_str(), Some("gw.toml"));
//! assert!(Args::parse(["--listen"]).is_err());
//! assert!(Args::parse(["--bogus"]).is_err());
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

/// The usage text.
pub const USAGE: &str = "\
usage: gateway [--listen ADDR] [--config FILE] [--no-watch]
       gateway --check [--config FILE]
       gateway audit verify PATH [--head SEQ:HASH]
       gateway audit query (--run RUN | --caller PRINCIPAL) [--from MS] [--to MS]
                           [PATH | --config FILE]

  --listen ADDR   address to listen on (default 127.0.0.1:8080; port 0 picks a free port).
                  The bound address is printed on stdout as the first line.
  --config FILE   TOML configuration file; without it the embedded defaults are used.
                  It is reloaded on SIGHUP and when it changes (see the README: Operations).
  --no-watch      reload only on SIGHUP, not when the file changes.
  --check         validate the configuration (every section, rule, pattern, key variable,
                  key file, stdio command and the audit path) without serving; exit 0 when
                  valid, 1 printing every problem with its key path.
  --print-default-config
                  print the embedded default configuration and exit.
  -h, --help      print this help and exit.

  audit verify    check the audit log's hash chain (a directory, one segment or a SQLite
                  database): exit 0 when intact, 1 otherwise, naming the first bad record.
                  --head checks it also reaches a head kept elsewhere (what `verify` printed).
  audit query     print a run's or a caller's records in order (--caller is the principal id
                  `method:issuer:tenant:subject` records carry), optionally within a time range
                  (ms since the epoch, --to exclusive); JSONL or SQLite. PATH defaults to the
                  config's [audit] path.
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the gateway.
    Run(Args),
    /// `--check [--config FILE]`: validate the configuration (the embedded defaults without a
    /// file) and exit.
    Check {
        /// The configuration file.
        config: Option<PathBuf>,
    },
    /// Print the usage text.
    Help,
    /// Print the embedded default configuration.
    PrintDefaultConfig,
    /// `audit verify PATH [--head SEQ:HASH]`.
    AuditVerify {
        /// The log.
        path: PathBuf,
        /// A head kept elsewhere, `SEQ:HASH`.
        head: Option<String>,
    },
    /// `audit query (--run RUN | --caller PRINCIPAL) [--from MS] [--to MS] [PATH | --config FILE]`.
    AuditQuery {
        /// What to select.
        query: crate::audit::Query,
        /// The log, if named.
        path: Option<PathBuf>,
        /// The configuration naming the log, if given.
        config: Option<PathBuf>,
    },
}

/// The arguments of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// The listen address, overriding the configuration's.
    pub listen: Option<SocketAddr>,
    /// The configuration file.
    pub config: Option<PathBuf>,
    /// `--no-watch`: reload on SIGHUP only, not when the file changes.
    pub no_watch: bool,
}

impl Args {
    /// Parses the arguments (without the program name).
    pub fn parse<I, S>(args: I) -> Result<Command, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out = Args::default();
        let mut check = false;
        let mut args = args.into_iter().map(Into::into).peekable();
        if args.peek().map(String::as_str) == Some("audit") {
            args.next();
            return parse_audit(args);
        }
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| args.next())
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match flag.as_str() {
                "--listen" => {
                    let v = value("--listen")?;
                    out.listen = Some(
                        v.parse()
                            .map_err(|e| format!("--listen: `{v}` is not an address ({e})"))?,
                    );
                }
                "--config" => out.config = Some(PathBuf::from(value("--config")?)),
                "--check" => check = true,
                "--no-watch" => out.no_watch = true,
                "--print-default-config" => return Ok(Command::PrintDefaultConfig),
                "-h" | "--help" => return Ok(Command::Help),
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        if check {
            return Ok(Command::Check { config: out.config });
        }
        Ok(Command::Run(out))
    }
}

fn parse_audit(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let sub = args.next().ok_or("audit needs `verify` or `query`")?;
    let (mut path, mut head, mut config) = (None, None, None);
    let mut query = crate::audit::Query::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let ms = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: `{v}` is not a time in ms since the epoch"))
        };
        match arg.as_str() {
            "--head" if sub == "verify" => head = Some(value("--head")?),
            "--run" if sub == "query" => query.run = Some(value("--run")?),
            "--caller" if sub == "query" => query.caller = Some(value("--caller")?),
            "--from" if sub == "query" => query.from_ms = Some(ms("--from", value("--from")?)?),
            "--to" if sub == "query" => query.to_ms = Some(ms("--to", value("--to")?)?),
            "--config" if sub == "query" => config = Some(PathBuf::from(value("--config")?)),
            a if !a.starts_with('-') && path.is_none() => path = Some(PathBuf::from(a)),
            other => return Err(format!("audit {sub}: unexpected argument `{other}`")),
        }
    }
    match sub.as_str() {
        "verify" => Ok(Command::AuditVerify {
            path: path.ok_or("audit verify needs a PATH")?,
            head,
        }),
        "query" if query.run.is_none() && query.caller.is_none() => {
            Err("audit query needs --run RUN or --caller PRINCIPAL".into())
        }
        "query" => Ok(Command::AuditQuery {
            query,
            path,
            config,
        }),
        other => Err(format!("unknown audit command `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_values_and_help() {
        let Command::Run(a) = Args::parse(["--listen=127.0.0.1:9"]).unwrap() else {
            panic!()
        };
        assert_eq!(a.listen.unwrap().port(), 9);
        assert_eq!(Args::parse(["-h"]).unwrap(), Command::Help);
        assert_eq!(
            Args::parse(Vec::<String>::new()).unwrap(),
            Command::Run(Args::default())
        );
        assert_eq!(
            Args::parse(["audit", "verify", "logs", "--head", "3:ab"]).unwrap(),
            Command::AuditVerify {
                path: "logs".into(),
                head: Some("3:ab".into())
            }
        );
        assert_eq!(
            Args::parse(["audit", "query", "--run", "r1"]).unwrap(),
            Command::AuditQuery {
                query: crate::audit::Query::run("r1"),
                path: None,
                config: None
            }
        );
        assert_eq!(
            Args::parse([
                "audit",
                "query",
                "--caller",
                "api_key::t:ann",
                "--from",
                "5",
                "--to",
                "9",
                "a.db"
            ])
            .unwrap(),
            Command::AuditQuery {
                query: crate::audit::Query::caller("api_key::t:ann").between(Some(5), Some(9)),
                path: Some("a.db".into()),
                config: None
            }
        );
        assert!(Args::parse(["audit", "query", "--caller", "x", "--from", "soon"]).is_err());
        assert_eq!(
            Args::parse(["--check", "--config", "gw.toml"]).unwrap(),
            Command::Check {
                config: Some("gw.toml".into())
            }
        );
        assert!(Args::parse(["audit", "verify"]).is_err());
        assert!(Args::parse(["audit", "query", "logs"]).is_err());
        assert!(Args::parse(["audit", "delete"]).is_err());
        assert!(
            Args::parse(["--listen", "nope"])
                .unwrap_err()
                .contains("nope")
        );
    }
}
