import DatapinKit
@testable import DatapinSpec
import Testing

/// Which URLs carry credentials, and how they are shown without them; an SFTP login name alone
/// (`sftp://user@host`) is no credential.
@Suite struct URLUserinfoTests {
    @Test(arguments: [
        ("http://user:secret@host/c.json", true, "http://***@host/c.json"),
        ("https://user@host:8443/x", true, "https://***@host:8443/x"),
        ("sftp://a:b@c@login.example.org/d", true, "sftp://***@login.example.org/d"),
        ("sftp://ponder@login.example.org:2222/d", false, "sftp://ponder@login.example.org:2222/d"),
        ("SFTP://ponder@login.example.org/d", false, "SFTP://ponder@login.example.org/d"),
        ("sftp://ponder:@login.example.org/d", true, "sftp://***@login.example.org/d"),
        ("sftp://ponder:octarine@login.example.org/d", true, "sftp://***@login.example.org/d"),
        ("sftp://@login.example.org/d", true, "sftp://***@login.example.org/d"),
        ("https://host/files/a@b.fits", false, "https://host/files/a@b.fits"),
        ("https://host/x?mail=a@b", false, "https://host/x?mail=a@b"),
        ("file:///data/a@b/c.json", false, "file:///data/a@b/c.json"),
        ("./catalog@2.json", false, "./catalog@2.json"),
    ])
    func findsAndHidesUserinfo(_ url: String, _ hasUserinfo: Bool, _ redacted: String) {
        #expect(URLUserinfo.hasUserinfo(url) == hasUserinfo)
        #expect(URLUserinfo.redacted(url) == redacted)
    }

    @Test func aSpecThatCannotBeParsedStillHasItsCredentialURLsMasked() {
        let text = "archives:\n  lab: {type: index, url: \"https://me:hunter2@host/c.json\"}\n  bad: [\n"
        let masked = Secrets.maskedWithoutParsing(text)
        #expect(!masked.contains("hunter2"))
        #expect(masked.contains("  lab: {type: index, url: \"***"))
    }
}

/// A hand-edited lock with credentials in a URL never puts them into an exported script.
@Suite struct ScriptCredentialURLTests {
    @Test func credentialsInALockedURLStayOutOfTheScript() throws {
        let script = try ExportScriptTests.render([ExportScriptTests.entry("a.fits", url: "https://me:hunter2@files.example.org/a.fits")])
        #expect(!script.contains("hunter2"))
        #expect(script.contains("https://***@files.example.org/a.fits"))
    }
}
