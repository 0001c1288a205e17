import Foundation

/// One row of an ObsCore table, with the columns `type: vo` reads.
public struct ObsCoreRecord: Sendable {
    public var publisherDID: String
    public var obsID: String
    /// The file, or for a DataLink row the DataLink document's URL (`{base}` for the fake's own).
    public var accessURL: String
    public var accessFormat: String
    /// In kbyte (1000 bytes), as ObsCore's `access_estsize`.
    public var estimatedKilobytes: Int64?
    public var calibLevel: Int?
    public var productType: String
    public var collection: String

    public init(publisherDID: String, obsID: String, accessURL: String, accessFormat: String = "image/fits", estimatedKilobytes: Int64? = nil,
                calibLevel: Int? = 2, productType: String = "image", collection: String = "Carte du Ciel") {
        self.publisherDID = publisherDID
        self.obsID = obsID
        self.accessURL = accessURL
        self.accessFormat = accessFormat
        self.estimatedKilobytes = estimatedKilobytes
        self.calibLevel = calibLevel
        self.productType = productType
        self.collection = collection
    }
}

/// ObsCore answers as a real TAP service sends them: the FIELDs are those of GAVO's
/// `ivoa.obscore` in ../shared/fixtures/vo/tap-obscore-image.xml (names, datatypes, UCDs,
/// utypes, `access_estsize` in kbyte, `calib_level` a short with a null value), in TABLEDATA.
public enum FakeObsCore {
    /// The DataLink `access_format` (DataLink 1.1 §3.3).
    public static let dataLinkFormat = "application/x-votable+xml;content=datalink"

    /// The VOTable of `records`, in their order.
    public static func votable(_ records: [ObsCoreRecord]) -> String {
        let rows = records.map { record in
            let cells = [record.productType, record.calibLevel.map(String.init) ?? "-32768", record.collection, record.obsID, record.publisherDID,
                         record.accessURL, record.accessFormat, record.estimatedKilobytes.map(String.init) ?? "-1"]
            return "<TR>" + cells.map { "<TD>\(escaped($0))</TD>" }.joined() + "</TR>"
        }.joined(separator: "\n")
        return """
        <?xml version="1.0" encoding="utf-8"?>
        <VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.3">
        <RESOURCE type="results">
        <INFO name="QUERY_STATUS" value="OK"/>
        <TABLE name="ObsCore">
        <FIELD ID="dataproduct_type" arraysize="*" datatype="char" name="dataproduct_type" ucd="meta.id" utype="obscore:obs.dataproducttype"/>
        <FIELD ID="calib_level" datatype="short" name="calib_level" ucd="meta.code;obs.calib" utype="obscore:obs.caliblevel"><VALUES null="-32768"/></FIELD>
        <FIELD ID="obs_collection" arraysize="*" datatype="char" name="obs_collection" ucd="meta.id" utype="obscore:dataid.collection"/>
        <FIELD ID="obs_id" arraysize="*" datatype="char" name="obs_id" ucd="meta.id" utype="obscore:DataID.observationID"/>
        <FIELD ID="obs_publisher_did" arraysize="*" datatype="char" name="obs_publisher_did" ucd="meta.ref.uri;meta.curation" utype="obscore:curation.publisherdid"/>
        <FIELD ID="access_url" arraysize="*" datatype="char" name="access_url" ucd="meta.ref.url" utype="obscore:access.reference"/>
        <FIELD ID="access_format" arraysize="*" datatype="char" name="access_format" ucd="meta.code.mime" utype="obscore:access.format"/>
        <FIELD ID="access_estsize" datatype="long" name="access_estsize" ucd="phys.size;meta.file" unit="kbyte" utype="obscore:access.size"><VALUES null="-1"/></FIELD>
        <DATA><TABLEDATA>
        \(rows)
        </TABLEDATA></DATA>
        </TABLE>
        </RESOURCE>
        </VOTABLE>
        """
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
