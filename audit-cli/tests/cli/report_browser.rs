//! The HTML report opened in headless Chromium: it renders with its chart and tables, takes a
//! screenshot, prints to PDF, and logs nothing to the console (the report's Content Security
//! Policy would log any script or external resource it tried to load).
//!
//! Chromium must be installed (`cargo xtask packages` installs Debian's `chromium`); without it
//! these tests fail, saying so.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::written_log;

/// Longest a browser run may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// Chromium on the PATH, under either of its Debian names.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "headless Chromium is needed to test the HTML report and neither `chromium` nor \
         `chromium-browser` is on the PATH; install it with `cargo xtask packages` (Debian's \
         `chromium` package)"
    );
}

/// What one browser run left: standard output (the DOM) and standard error (the log).
struct BrowserRun {
    dom: String,
    log: String,
}

/// Opens `page` in headless Chromium with `extra` flags, in a fresh profile, killed after
/// [`BROWSER_TIMEOUT`].
fn open(page: &Path, profile: &Path, extra: &[String]) -> BrowserRun {
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("starting chromium");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    let status = match finished.recv_timeout(BROWSER_TIMEOUT) {
        Ok(status) => status.expect("waiting for chromium"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}; killed");
        }
    };
    let run = BrowserRun { dom: out.join().unwrap(), log: err.join().unwrap() };
    assert!(status.success(), "chromium exited with {status}:\n{}", run.log);
    run
}

/// Console messages in a browser log.
fn console_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

#[test]
fn the_html_report_renders_in_headless_chromium_without_console_messages() {
    let fixture = written_log(10);
    let page = fixture.path("report.html");
    fixture
        .audit(&[
            "report",
            "{dir}",
            "--framework",
            "iso27001",
            "--format",
            "html",
            "-o",
            page.to_str().unwrap(),
        ])
        .expect(0);
    let shot = fixture.path("report.png");
    let run = open(
        &page,
        &fixture.path("profile"),
        &[
            "--dump-dom".to_owned(),
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,2400".to_owned(),
        ],
    );
    let console = console_lines(&run.log);
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));
    // The DOM Chromium built holds the chart, its bars, the tables and every section.
    let source = std::fs::read_to_string(&page).unwrap();
    assert!(run.dom.contains("<svg") && run.dom.contains("<rect"), "no chart in the DOM");
    assert_eq!(run.dom.matches("<rect").count(), source.matches("<rect").count(), "chart bars");
    let tables = source.matches("<table").count();
    assert!(tables >= 5, "{tables} tables in the report");
    assert_eq!(run.dom.matches("<table").count(), tables, "tables missing from the DOM");
    for id in ["a815-logging", "a816-monitoring", "a817-clock", "a528-evidence", "a533-records"] {
        assert!(run.dom.contains(&format!("id=\"{id}\"")), "section {id} missing from the DOM");
    }
    // The screenshot is a real PNG of a rendered page, not an empty canvas.
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "a {}-byte screenshot is too small to show the report", png.len());

    let pdf = fixture.path("report.pdf");
    open(
        &page,
        &fixture.path("profile-pdf"),
        &[format!("--print-to-pdf={}", pdf.display()), "--no-pdf-header-footer".to_owned()],
    );
    let bytes = std::fs::read(&pdf).expect("chromium wrote no PDF");
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let pages = bytes.windows(10).filter(|w| w == b"/Type /Pag" || w == b"/Type/Page").count();
    assert!(pages >= 5, "each section starts a page when printed; {pages} page objects");
}

#[test]
fn the_console_check_sees_what_a_page_logs() {
    // The same check on a page whose policy blocks its script and image must find both.
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'\"></head><body><script>console.error('x')</script>\
         <img src=\"missing.png\"></body></html>",
    )
    .unwrap();
    let run = open(&page, &tmp.path().join("profile"), &["--dump-dom".to_owned()]);
    let console = console_lines(&run.log);
    assert!(console.len() >= 2, "blocked script and image not seen:\n{}", run.log);
}
