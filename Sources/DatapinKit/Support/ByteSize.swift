import Foundation

/// Reads sizes as people write them ("2 GB", "500 MiB", "1.5GB", "1024") and prints byte counts
/// in decimal SI units ("115.2 MB"), as MAST and ESO quote file sizes.
public enum ByteSize {
    /// Multipliers by lowercased unit; SI units are powers of 1000, IEC units (`KiB`) of 1024.
    private static let units: [String: Int64] = [
        "b": 1,
        "k": 1_000, "kb": 1_000, "ki": 1 << 10, "kib": 1 << 10,
        "m": 1_000_000, "mb": 1_000_000, "mi": 1 << 20, "mib": 1 << 20,
        "g": 1_000_000_000, "gb": 1_000_000_000, "gi": 1 << 30, "gib": 1 << 30,
        "t": 1_000_000_000_000, "tb": 1_000_000_000_000, "ti": 1 << 40, "tib": 1 << 40,
        "p": 1_000_000_000_000_000, "pb": 1_000_000_000_000_000, "pi": 1 << 50, "pib": 1 << 50,
    ]

    /// The number of bytes `text` names, or nil when it is not a size.
    /// Accepts a whole number of bytes, or a number (with an optional decimal fraction) followed by
    /// a unit: B, kB, MB, GB, TB, PB (powers of 1000) or KiB, MiB, GiB, TiB, PiB (powers of 1024),
    /// case-insensitive, with or without a space. A fraction of a byte is rounded down.
    public static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let numberEnd = trimmed.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? trimmed.endIndex
        let number = trimmed[..<numberEnd]
        let unit = trimmed[numberEnd...].trimmingCharacters(in: .whitespaces).lowercased()
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, parts.count <= 2, let whole = parts.first, !whole.isEmpty else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        if parts.count == 2 && fraction.isEmpty { return nil }
        let multiplier: Int64
        if unit.isEmpty {
            guard fraction.isEmpty else { return nil }
            multiplier = 1
        } else {
            guard let found = units[unit] else { return nil }
            if found == 1 && !fraction.isEmpty { return nil }
            multiplier = found
        }
        guard let value = Decimal(string: String(number), locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        var bytes = value * Decimal(multiplier)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &bytes, 0, .down)
        guard rounded <= Decimal(Int64.max) else { return nil }
        return NSDecimalNumber(decimal: rounded).int64Value
    }

    /// `bytes` in decimal SI units with one decimal ("115.2 MB"), or plain bytes below 1000 ("512 B").
    public static func format(_ bytes: Int64) -> String {
        let sign = bytes < 0 ? "-" : ""
        let magnitude = bytes.magnitude
        if magnitude < 1000 { return "\(sign)\(magnitude) B" }
        let names = ["kB", "MB", "GB", "TB", "PB", "EB"]
        var unit: UInt64 = 1000
        var index = 0
        while index < names.count - 1 && magnitude >= unit * 1000 { unit *= 1000; index += 1 }
        var tenths = (magnitude / unit) * 10 + ((magnitude % unit) * 10 + unit / 2) / unit
        if tenths >= 10_000 && index < names.count - 1 {
            unit *= 1000
            index += 1
            tenths = (magnitude / unit) * 10 + ((magnitude % unit) * 10 + unit / 2) / unit
        }
        return "\(sign)\(tenths / 10).\(tenths % 10) \(names[index])"
    }
}
