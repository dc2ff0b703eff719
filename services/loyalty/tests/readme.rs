//! The root README quotes loyalty's bus wiring as the example of a subscriber added later. The
//! quote must be code that compiles, so it is an exact copy of the `wiring` region of
//! `src/startup.rs` (between `// ANCHOR: wiring` and `// ANCHOR_END: wiring`), and this test
//! fails as soon as the two differ. Both files are included at compile time, so cargo reruns it
//! whenever either changes.

const README: &str = include_str!("../../../README.md");
const STARTUP: &str = include_str!("../src/startup.rs");

/// The comment that precedes the quote in the README.
const MARKER: &str = "<!-- snippet services/loyalty/src/startup.rs#wiring";

/// The lines strictly between the region's two anchors, each with its newline.
fn region<'a>(source: &'a str, name: &str) -> &'a str {
    let start_anchor = format!("// ANCHOR: {name}");
    let end_anchor = format!("// ANCHOR_END: {name}");
    let start = source
        .find(&start_anchor)
        .unwrap_or_else(|| panic!("no `{start_anchor}` in the source"));
    let start = start + source[start..].find('\n').expect("a line after the anchor") + 1;
    let end = source[start..]
        .find(&end_anchor)
        .unwrap_or_else(|| panic!("no `{end_anchor}` after `{start_anchor}`"));
    &source[start..start + end]
}

/// The body of the ```` ```rust ```` block right after the marker line, each line with its
/// newline.
fn quoted_block<'a>(readme: &'a str, marker: &str) -> &'a str {
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("no `{marker}` in README.md"));
    let after_marker =
        &readme[at + readme[at..].find('\n').expect("a line after the marker") + 1..];
    let body = after_marker
        .strip_prefix("```rust\n")
        .expect("a ```rust block right after the marker");
    let end = body.find("```\n").expect("the end of the ```rust block");
    &body[..end]
}

#[test]
fn the_readme_quotes_the_wiring_of_loyalty_exactly() {
    let source = region(STARTUP, "wiring");
    assert!(source.contains("pub fn wiring"), "{source}");
    assert_eq!(
        quoted_block(README, MARKER),
        source,
        "README.md's loyalty snippet differs from the `wiring` region of \
         services/loyalty/src/startup.rs: copy the region into the README"
    );
}
