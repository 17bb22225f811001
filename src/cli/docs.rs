//! Shell completions and man pages, generated from the clap definitions so
//! they cannot drift from the real command line. `scripts/package.sh` runs
//! `flowprobe man --dir` and `flowprobe completions` to fill the packages.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;
use crate::version;

/// `flowprobe completions SHELL`: the completion script on stdout.
pub(crate) fn completions(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut without_hidden(Cli::command()), "flowprobe", out);
}

/// The command line as users see it. clap_complete offers hidden
/// subcommands (`man`) like any other, so they are left out of the copy it
/// is given; only top-level subcommands are hidden today.
fn without_hidden(cmd: clap::Command) -> clap::Command {
    let mut visible = clap::Command::new("flowprobe")
        .version(version::LONG)
        .args(cmd.get_arguments().cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = cmd.get_about() {
        visible = visible.about(about.clone());
    }
    visible
}

/// `flowprobe man --dir DIR`: one page per visible (sub)command, section 1
/// (`flowprobe.1`, `flowprobe-run.1`, `flowprobe-config-check.1`, ...).
/// Returns the files written.
pub(crate) fn man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, true, dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    cmd: &clap::Command,
    top: bool,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let page = clap_mangen::Man::new(cmd.clone())
        .date(version::BUILD_DATE)
        .source(format!("flowprobe {}", version::VERSION))
        .manual("flowprobe manual");
    let path = dir.join(page.get_filename());
    let mut roff = Vec::new();
    page.render(&mut roff)?;
    roff.extend_from_slice(if top { TOP_SECTIONS } else { SUB_SECTIONS }.as_bytes());
    std::fs::write(&path, roff)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, false, dir, written)?;
    }
    Ok(())
}

/// What an operator looks for in `man flowprobe` and clap does not know:
/// files, environment, exit codes, where the rest is documented.
const TOP_SECTIONS: &str = r#".SH FILES
.TP
\fI/etc/flowprobe/flowprobe.toml\fR
The configuration, read when \fB\-\-config\fR is not given (otherwise the
embedded default serves: the jamf\-pro catalog, every target on localhost).
.TP
\fI/etc/flowprobe/trust/\fR
Trust anchors (PEM) that \fB[trust.*]\fR sections name.
.TP
\fI/usr/lib/systemd/system/flowprobe.service\fR
The hardened unit; \fBsystemctl reload flowprobe\fR re\-reads the configuration (SIGHUP).
.TP
\fI/usr/share/flowprobe/\fR
Example configurations per vantage, Prometheus alert rules, the Alertmanager
example, the Grafana dashboard and the opt\-in systemd drop\-in.
.SH ENVIRONMENT
.TP
\fBFLOWPROBE_...\fR
Override configuration keys (\fBFLOWPROBE_LISTEN__ADDRESS\fR sets \fBlisten.address\fR).
.TP
\fBRUST_LOG\fR
Log filter; wins over \fB\-\-log\-level\fR and \fBlog.level\fR.
.SH "EXIT STATUS"
.TP
\fB0\fR
Success; for \fBcheck\fR, every flow met its expectation.
.TP
\fB1\fR
\fBcheck\fR: at least one flow did not meet its expectation.
.TP
\fB2\fR
Usage or configuration error; every configuration error is listed with its
file, key path and reason.
.SH "SEE ALSO"
\fBflowprobe\-run\fR(1), \fBflowprobe\-check\fR(1), \fBflowprobe\-config\fR(1),
\fBflowprobe\-catalog\fR(1), \fBflowprobe\-completions\fR(1),
\fBsystemd.exec\fR(5), \fBsystemd\-sysusers\fR(8).
The manual in \fI/usr/share/doc/flowprobe/\fR: \fIREADME.md\fR, and one page per
topic in \fIdocs/\fR (\fIconfiguration.md\fR: every key; \fIreasons.md\fR: every
reason; \fImetrics.md\fR: every series; \fIcommand\-line.md\fR, \fIoperations.md\fR, ...);
\fIRUNBOOK.md\fR, one section per alert.
"#;

const SUB_SECTIONS: &str = r#".SH "SEE ALSO"
\fBflowprobe\fR(1). The manual: \fI/usr/share/doc/flowprobe/README.md\fR and the
pages in \fI/usr/share/doc/flowprobe/docs/\fR (\fIcommand\-line.md\fR: every command).
"#;
