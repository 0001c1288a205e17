import DatapinLock
import DatapinSpec
import DatapinSupport
import Foundation

/// `datapin export script`: a self-contained bash script, like MAST's "download with API query"
/// script, that fetches every locked file into the same layout with curl, resumes what an earlier
/// run left unfinished, skips what is already in place, verifies pinned checksums with
/// `sha256sum -c` and the other files by size, and places `duplicates: link|copy` duplicates.
/// Exclusive-access files get their archive's token from its `token_env` variable (or a prompt on a
/// terminal), sent only to the archive's own hosts and never on curl's command line. The script
/// never contains a credential: it is made from the lock and, per archive, the variable name,
/// scheme and hosts its caller gives (`ArchiveAccess`); it resolves no credentials itself.
public enum DownloadScript {
    /// What the script needs to know of one archive's token, given by the caller.
    public struct ArchiveAccess: Sendable, Hashable {
        /// The environment variable the script reads the token from (the spec's `token_env`);
        /// nil when the archive names none, and its exclusive-access files are skipped.
        public var tokenVariable: String?
        /// The `Authorization` scheme: `token` for MAST, `Bearer` elsewhere.
        public var scheme: String
        /// The only hosts the token is sent to, lowercased.
        public var hosts: Set<String>

        public init(tokenVariable: String?, scheme: String, hosts: Set<String>) {
            self.tokenVariable = tokenVariable
            self.scheme = scheme
            self.hosts = Set(hosts.map { $0.lowercased() })
        }
    }

    /// Why a script cannot be made from a lock.
    public enum Failure: Error, Sendable, Hashable {
        /// A lock path that a shell script must not write to (a hand-edited lock).
        case unsafePath(path: String, reason: String)

        /// One plain sentence.
        public var message: String {
            switch self {
            case .unsafePath(let path, let reason):
                return "the lock's path '\(PathSafety.escaped(path))' cannot go into a script: \(reason)"
            }
        }
    }

    /// The script for `lock`. `lockName` and `destination` (the spec's, as written: the default
    /// target folder) appear in its text; `lockDirectory` makes relative lock URLs absolute;
    /// `archives` (by name, built-in ones included) give each exclusive-access file's token
    /// variable, scheme and hosts; an archive missing from it has no token source.
    public static func render(lock: Lockfile, lockName: String, lockDirectory: URL, destination: String, duplicates: DuplicatePolicy, archives: [String: ArchiveAccess]) throws(Failure) -> String {
        for entry in lock.files {
            for path in [entry.path] + entry.alsoPaths {
                if let reason = PathSafety.problem(with: path) { throw .unsafePath(path: path, reason: reason) }
            }
        }
        let plan = Plan(lock: lock, lockDirectory: lockDirectory, archives: archives)
        var out = header(lock: lock, lockName: lockName, destination: destination, plan: plan)
        out += prelude(destination: destination, total: lock.files.count)
        if !plan.tokenArchives.isEmpty {
            out += "\n# Exclusive-access files: a token from the environment, or asked for on a terminal.\n"
            for archive in plan.tokenArchives {
                if let variable = archive.variable {
                    out += "read_token \(archive.number) \(quoted(variable)) \(quoted(archive.name)) \(quoted(archive.scheme)) \(archive.files)\n"
                } else {
                    out += "no_token_source \(archive.number) \(quoted(archive.name)) \(archive.files)\n"
                }
            }
        }
        out += "\n# fetch NUMBER PATH URL SIZE SHA256 TOKEN (TOKEN: which archive's token to send, 0 for none)\n"
        for (index, file) in plan.files.enumerated() {
            let entry = file.entry
            out += "fetch \(index + 1) \(quoted(entry.path)) \(quoted(file.url)) \(entry.size.map(String.init) ?? "''") \(entry.sha256.map { quoted($0.lowercased()) } ?? "''") \(file.token)\n"
        }
        let pinned = plan.files.enumerated().compactMap { index, file in file.entry.sha256.map { "\(index + 1) \($0.lowercased())  \(file.entry.path)" } }
        if !pinned.isEmpty {
            out += "\n# Pinned checksums, checked for the files this run downloaded (NUMBER SHA256  PATH).\nverify_sha256 <<'DATAPIN_SHA256'\n"
            out += pinned.joined(separator: "\n") + "\nDATAPIN_SHA256\n"
        }
        let placements = plan.files.enumerated().flatMap { index, file in file.entry.alsoPaths.map { (index + 1, file.entry.path, $0) } }
        if !placements.isEmpty {
            let mode = duplicates == .copy ? "copy" : "link"
            out += "\n# Duplicates (duplicates: \(mode)): place NUMBER OWNER PATH MODE\n"
            for (number, owner, path) in placements {
                out += "place \(number) \(quoted(owner)) \(quoted(path)) \(mode)\n"
            }
        }
        out += "\nfinish\n"
        return out
    }

    /// A shell word that is exactly `text`: single-quoted, with `'` written as `'\''`.
    public static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// What the script does with each file, and the archives whose tokens it needs.
    struct Plan {
        struct File {
            var entry: LockEntry
            var url: String
            /// The number of the archive whose token is sent, or 0.
            var token: Int
        }

        struct TokenArchive {
            var number: Int
            var name: String
            /// The spec's `token_env`; nil when the archive has none (the files are skipped).
            var variable: String?
            var scheme: String
            /// The archive's own hosts: the only ones its token goes to.
            var hosts: Set<String>
            /// How many of its exclusive-access files the token is for.
            var files: Int
        }

        var files: [File] = []
        var tokenArchives: [TokenArchive] = []
        /// Exclusive-access files served from a host that is not their archive's: fetched without a token.
        var foreignHostFiles = 0

        init(lock: Lockfile, lockDirectory: URL, archives: [String: ArchiveAccess]) {
            var numbers: [String: Int] = [:]
            for name in Set(lock.files.filter { $0.access == .exclusive }.map(\.archive)).sorted() {
                let access = archives[name]
                numbers[name] = tokenArchives.count + 1
                tokenArchives.append(TokenArchive(number: tokenArchives.count + 1, name: name, variable: access?.tokenVariable,
                                                  scheme: access?.scheme ?? "Bearer", hosts: access?.hosts ?? [], files: 0))
            }
            for entry in lock.files {
                // `lock` never writes credentials into a URL; one in a hand-edited lock stays out of the script.
                let url = URLUserinfo.redacted(entry.downloadURL(lockDirectory: lockDirectory))
                var token = 0
                if entry.access == .exclusive, let number = numbers[entry.archive] {
                    // Without a token variable the file is skipped, whatever its host.
                    let host = URL(string: url)?.host?.lowercased()
                    if tokenArchives[number - 1].variable == nil || host.map(tokenArchives[number - 1].hosts.contains) == true {
                        token = number
                        tokenArchives[number - 1].files += 1
                    } else {
                        foreignHostFiles += 1
                    }
                }
                files.append(File(entry: entry, url: url, token: token))
            }
            tokenArchives.removeAll { $0.files == 0 }
        }
    }

    private static func header(lock: Lockfile, lockName: String, destination: String, plan: Plan) -> String {
        let bytes = lock.files.reduce(Int64(0)) { $0 + ($1.size ?? 0) }
        let unknown = lock.files.filter { $0.size == nil }.count
        let pinned = lock.files.filter { $0.sha256 != nil }.count
        var lines = [
            "#!/usr/bin/env bash",
            "# Generated by datapin \(DatapinVersion.current) from \(PathSafety.escaped(lockName)) (spec \(PathSafety.escaped(lock.specDigest))).",
            "# \(lock.files.count) file\(lock.files.count == 1 ? "" : "s"), \(ByteSize.format(bytes)) (\(bytes) bytes\(unknown > 0 ? ", \(unknown) of unknown size" : "")); \(pinned) with a pinned SHA-256.",
            "#",
            "# Run:  bash download.sh [TARGET_DIR]",
            "# TARGET_DIR defaults to \(PathSafety.escaped(destination)), relative to the folder you run it in.",
            "#",
            "# Downloads every file with curl into TARGET_DIR in the lock's layout. A file already there",
            "# with the locked size (and checksum) is left alone; an interrupted download resumes when",
            "# the script is run again. At the end, pinned files are checked with sha256sum -c and the",
            "# others by size; a file that fails is downloaded again by the next run.",
        ]
        for archive in plan.tokenArchives {
            if let variable = archive.variable {
                lines.append("# \(archive.files) exclusive-access file\(archive.files == 1 ? "" : "s") of archive \(PathSafety.escaped(archive.name)) need\(archive.files == 1 ? "s" : "") a token: set \(PathSafety.escaped(variable)) or type it when asked.")
            } else {
                lines.append("# \(archive.files) exclusive-access file\(archive.files == 1 ? "" : "s") of archive \(PathSafety.escaped(archive.name)) cannot be fetched by this script (no token_env); use `datapin sync`.")
            }
        }
        if plan.foreignHostFiles > 0 {
            lines.append("# \(plan.foreignHostFiles) exclusive-access file\(plan.foreignHostFiles == 1 ? " is" : "s are") served from a host that is not its archive's, so no token is sent for \(plan.foreignHostFiles == 1 ? "it" : "them").")
        }
        lines += [
            "# Tokens are sent only to the archive's own hosts, through curl's standard input (never on",
            "# its command line); this script contains no credential.",
            "# Exit status, as datapin sync's: 0 every file in place and verified; 3 a download failed;",
            "# 4 a file did not match its locked checksum or size; 5 exclusive-access files skipped (no token)",
            "# or refused (HTTP 401/403: the token is missing, expired or not authorised).",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The functions every script shares, and the setup before the first file.
    private static func prelude(destination: String, total: Int) -> String {
        """
        set -euo pipefail

        if [ $# -gt 1 ]; then
          echo "usage: bash $0 [TARGET_DIR]" >&2
          exit 2
        fi
        target=\(quoted(destination))
        if [ $# -eq 1 ]; then target=$1; fi
        if [ -z "$target" ]; then
          echo "usage: bash $0 [TARGET_DIR]; the target folder may not be empty" >&2
          exit 2
        fi
        total=\(total)

        if ! command -v curl >/dev/null 2>&1; then
          echo "error: this script needs curl" >&2
          exit 2
        fi
        if ! command -v sha256sum >/dev/null 2>&1; then
          if command -v shasum >/dev/null 2>&1; then
            sha256sum() { shasum -a 256 "$@"; }
          else
            echo "error: this script needs sha256sum (GNU coreutils) or shasum" >&2
            exit 2
          fi
        fi
        if [ -t 2 ]; then progress=--progress-bar; else progress=--silent; fi
        curl_options=(--globoff --location -f --create-dirs -C - --retry 5 --retry-connrefused --show-error "$progress")

        downloaded=0 present=0 failed=0 skipped=0 refused=0 mismatched=0
        state=() tokens=() schemes=()

        file_size() { wc -c <"$1" | tr -d ' '; }
        sha256_of() { local sum; sum=$(sha256sum <"$1") || return 1; echo "${sum%% *}"; }

        # read_token NUMBER VARIABLE ARCHIVE SCHEME FILES
        read_token() {
          local value
          value=$(printenv "$2" || true)
          if [ -z "$value" ] && [ -t 0 ]; then
            read -rs -p "Token for the $5 exclusive-access file(s) of archive $3 (\\$$2; empty to skip them): " value || value=
            echo >&2
          fi
          value=${value//[[:space:]]/}
          tokens[$1]=$value
          schemes[$1]=$4
          if [ -z "$value" ]; then
            echo "warning: skipping $5 exclusive-access file(s) of archive $3: no token; set $2 to fetch them" >&2
          fi
        }

        # no_token_source NUMBER ARCHIVE FILES
        no_token_source() {
          tokens[$1]=
          echo "warning: skipping $3 exclusive-access file(s) of archive $2: the spec names no token_env for it; use \\`datapin sync\\`" >&2
        }

        # run_curl OUT URL TOKEN: prints the last HTTP status; the token's header goes through
        # curl's standard input.
        run_curl() {
          if [ "$3" = 0 ]; then
            curl "${curl_options[@]}" --write-out '%{http_code}' --output "$1" --url "$2"
          else
            printf 'Authorization: %s %s\\n' "${schemes[$3]}" "${tokens[$3]}" | curl "${curl_options[@]}" --write-out '%{http_code}' -H @- --output "$1" --url "$2"
          fi
        }

        fetch() {
          local number=$1 path=$2 url=$3 size=$4 sha256=$5 token=$6
          local out=$target/$path have status code
          local part=$out.part
          if [ "$token" != 0 ] && [ -z "${tokens[$token]:-}" ]; then
            state[$number]=skipped
            skipped=$((skipped + 1))
            return 0
          fi
          if [ -f "$out" ]; then
            have=$(file_size "$out")
            if [ -z "$size" ] || [ "$have" = "$size" ]; then
              if [ -z "$sha256" ]; then
                state[$number]=present
                present=$((present + 1))
                return 0
              fi
              if [ "$(sha256_of "$out")" = "$sha256" ]; then
                state[$number]=verified
                present=$((present + 1))
                return 0
              fi
              echo "$path does not match its locked checksum; downloading it again" >&2
              rm -f -- "$out"
            elif [ "$have" -gt "$size" ]; then
              echo "$path is larger than locked; downloading it again" >&2
              rm -f -- "$out"
            fi
          fi
          # Bytes go to OUT.part until the whole file is there: an interrupted run never leaves a
          # partial file at its final path, and the next run resumes the .part.
          printf '[%d/%d] %s\\n' "$number" "$total" "$path" >&2
          if [ -n "$size" ] && [ -f "$part" ] && [ "$(file_size "$part")" -ge "$size" ]; then
            # Complete (stopped before it was moved) or too long: nothing to resume.
            if [ "$(file_size "$part")" -gt "$size" ]; then rm -f -- "$part"; fi
          fi
          if [ -n "$size" ] && [ -f "$part" ] && [ "$(file_size "$part")" = "$size" ]; then
            status=0 code=200
          else
            code=$(run_curl "$part" "$url" "$token") && status=0 || status=$?
          fi
          if [ "$status" = 33 ]; then
            echo "$path: the server cannot resume; downloading it whole" >&2
            rm -f -- "$part"
            code=$(run_curl "$part" "$url" "$token") && status=0 || status=$?
          fi
          if [ "$status" != 0 ] && { [ "$code" = 401 ] || [ "$code" = 403 ]; }; then
            echo "refused: $path (HTTP $code): the token is missing, expired or not authorised for it" >&2
            state[$number]=refused
            refused=$((refused + 1))
          elif [ "$status" != 0 ]; then
            echo "failed: $path (curl exit status $status; run the script again to resume)" >&2
            state[$number]=failed
            failed=$((failed + 1))
          elif [ -n "$size" ] && [ "$(file_size "$part")" != "$size" ]; then
            echo "failed: $path has $(file_size "$part") bytes, locked $size; the next run downloads it again" >&2
            rm -f -- "$part"
            state[$number]=mismatched
            mismatched=$((mismatched + 1))
          elif mv -f -- "$part" "$out"; then
            state[$number]=downloaded
            downloaded=$((downloaded + 1))
          else
            state[$number]=failed
            failed=$((failed + 1))
          fi
        }

        # place NUMBER OWNER PATH link|copy: a duplicate of a file that is in place and verified.
        place() {
          case "${state[$1]:-}" in present | verified | downloaded) ;; *) return 0 ;; esac
          local from=$target/$2 to=$target/$3
          if [ "$4" = link ] && [ "$from" -ef "$to" ]; then return 0; fi
          if [ "$4" = copy ] && [ -f "$to" ] && ! [ "$from" -ef "$to" ] && cmp -s -- "$from" "$to"; then return 0; fi
          if mkdir -p -- "$(dirname -- "$to")" && rm -f -- "$to" && { { [ "$4" = link ] && ln -- "$from" "$to" 2>/dev/null; } || cp -- "$from" "$to"; }; then
            return 0
          fi
          echo "failed: could not place $3 (a duplicate of $2)" >&2
          failed=$((failed + 1))
        }

        # verify_sha256 < lines "NUMBER SHA256  PATH": checks each file this run downloaded.
        verify_sha256() {
          local line number
          while IFS= read -r line; do
            number=${line%% *}
            if [ "${state[$number]:-}" != downloaded ]; then continue; fi
            if ! (cd -- "$target" && printf '%s\\n' "${line#* }" | sha256sum -c --quiet - >&2); then
              echo "failed: ${line#*  } does not match its locked checksum; removed, the next run downloads it again" >&2
              rm -f -- "$target/${line#*  }"
              state[$number]=mismatched
              mismatched=$((mismatched + 1))
              downloaded=$((downloaded - 1))
            fi
          done
        }

        finish() {
          echo "Done: $((downloaded + present)) of $total files in place ($downloaded downloaded, $present already there); $failed failed, $skipped skipped (exclusive access, no token), $refused refused (token not accepted), $mismatched checksum or size mismatches." >&2
          if [ "$mismatched" -gt 0 ]; then exit 4; fi
          if [ "$failed" -gt 0 ]; then exit 3; fi
          if [ "$skipped" -gt 0 ] || [ "$refused" -gt 0 ]; then exit 5; fi
          exit 0
        }

        """
    }
}
