import Foundation

extension FakeESO {
    /// A FIELD of a VOTable the fake writes.
    struct Field {
        var name: String
        var datatype: String
        var arraysize: String?
        var unit: String?
        var ucd: String?
        var utype: String?
        var xtype: String?
        /// The value written for a null (`VALUES null`), for integer columns.
        var null: String?

        init(_ name: String, _ datatype: String = "char", arraysize: String? = nil, unit: String? = nil, ucd: String? = nil, utype: String? = nil, xtype: String? = nil, null: String? = nil) {
            self.name = name
            self.datatype = datatype
            self.arraysize = arraysize ?? (datatype == "char" ? "*" : nil)
            self.unit = unit
            self.ucd = ucd
            self.utype = utype
            self.xtype = xtype
            self.null = null
        }

        var xml: String {
            var attributes = [("ID", name), ("name", name), ("datatype", datatype)]
            for (key, value) in [("arraysize", arraysize), ("unit", unit), ("ucd", ucd), ("utype", utype), ("xtype", xtype)] {
                if let value { attributes.append((key, value)) }
            }
            let open = "<FIELD \(attributes.map { "\($0.0)=\"\(xmlEscape($0.1))\"" }.joined(separator: " "))"
            guard let null else { return open + "/>" }
            return open + ">\n          <VALUES null=\"\(xmlEscape(null))\"/>\n        </FIELD>"
        }
    }

    /// XML text with `&`, `<`, `>` and `"` escaped.
    static func xmlEscape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }

    /// How a VOTable answer ends: OK, OVERFLOW (after the table, as real services write it),
    /// or ERROR with the service's message (and no rows).
    enum QueryStatus: Equatable {
        case ok
        case overflow
        case error(String)
    }

    /// A VOTable 1.4 answer (TABLEDATA) in the VOTable 1.3 namespace: `rows` are cell texts
    /// (nil for an empty cell), `meta` are extra RESOURCE elements (service descriptors).
    static func votable(fields: [Field], rows: [[String?]], status: QueryStatus = .ok, infos: [(String, String)] = [], meta: [String] = []) -> String {
        var xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.4">
          <RESOURCE type="results">

        """
        if case .error(let message) = status {
            xml += "    <INFO name=\"QUERY_STATUS\" value=\"ERROR\">\(xmlEscape(message))</INFO>\n  </RESOURCE>\n</VOTABLE>\n"
            return xml
        }
        xml += "    <INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n"
        for (name, value) in infos { xml += "    <INFO name=\"\(xmlEscape(name))\" value=\"\(xmlEscape(value))\"/>\n" }
        xml += "    <TABLE>\n"
        for field in fields { xml += "      \(field.xml.replacingOccurrences(of: "\n        </FIELD>", with: "\n      </FIELD>"))\n" }
        xml += "      <DATA>\n        <TABLEDATA>\n"
        for row in rows {
            xml += "          <TR>"
            for cell in row { xml += cell.map { "<TD>\(xmlEscape($0))</TD>" } ?? "<TD/>" }
            xml += "</TR>\n"
        }
        xml += "        </TABLEDATA>\n      </DATA>\n    </TABLE>\n"
        if status == .overflow { xml += "    <INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>\n" }
        xml += "  </RESOURCE>\n"
        for resource in meta { xml += resource }
        xml += "</VOTABLE>\n"
        return xml
    }

    /// The DataLink columns, ESO's own (`eso_*`, `last_mod_date`) after the standard ones.
    static let datalinkFields: [Field] = [
        Field("ID", ucd: "meta.id;meta.main"),
        Field("access_url", ucd: "meta.ref.url"),
        Field("service_def", ucd: "meta.ref"),
        Field("error_message", ucd: "meta.code.error"),
        Field("semantics", ucd: "meta.code"),
        Field("description", ucd: "meta.note"),
        Field("content_type", ucd: "meta.code.mime"),
        Field("content_length", "long", unit: "byte", ucd: "phys.size;meta.file", null: "-1"),
        Field("eso_origfile", ucd: "meta.id"),
        Field("eso_category", ucd: "meta.code"),
        Field("eso_datalink", ucd: "meta.ref.url"),
        Field("last_mod_date", ucd: "time.processing", xtype: "timestamp"),
    ]

    /// calSelector's VOTable columns: DataLink's without `eso_origfile` and `last_mod_date`.
    static let calSelectorFields: [Field] = datalinkFields.filter { $0.name != "eso_origfile" && $0.name != "last_mod_date" }

    /// One DataLink row.
    struct Link {
        var id: String
        var accessURL: String? = nil
        var serviceDef: String? = nil
        var errorMessage: String? = nil
        var semantics: String
        var description: String? = nil
        var contentType: String? = nil
        var contentLength: Int? = nil
        var origfile: String? = nil
        var category: String? = nil
        var datalink: String? = nil
        var lastModified: String? = nil

        var datalinkCells: [String?] {
            [id, accessURL, serviceDef, errorMessage, semantics, description, contentType, contentLength.map(String.init) ?? "-1", origfile, category, datalink, lastModified]
        }

        var calSelectorCells: [String?] {
            [id, accessURL, serviceDef, errorMessage, semantics, description, contentType, contentLength.map(String.init) ?? "-1", category, datalink]
        }
    }

    /// The `dbo.raw` columns the fake serves, with ESO's units and types.
    static let rawFields: [Field] = [
        Field("access_estsize", "long", unit: "kbyte", ucd: "phys.size;meta.file"),
        Field("access_url", ucd: "meta.ref.url"),
        Field("datalink_url", ucd: "meta.ref.url"),
        Field("dp_cat", ucd: "meta.code.class"),
        Field("dp_id", ucd: "meta.id;meta.main"),
        Field("dp_tech", ucd: "meta.code.class"),
        Field("dp_type", ucd: "meta.code.class"),
        Field("instrument", ucd: "meta.id;instr"),
        Field("last_mod_date", ucd: "time.processing", xtype: "timestamp"),
        Field("origfile", ucd: "meta.id"),
        Field("prog_id", ucd: "meta.id;obs.proposal"),
        Field("release_date", ucd: "time.release", xtype: "timestamp"),
    ]

    /// The `ivoa.ObsCore` columns the fake serves.
    static let obsCoreFields: [Field] = [
        Field("obs_publisher_did", ucd: "meta.ref.uri;meta.curation", utype: "obscore:Curation.PublisherDID"),
        Field("obs_id", ucd: "meta.id", utype: "obscore:DataID.observationID"),
        Field("dp_id", ucd: "meta.id;meta.main"),
        Field("access_url", ucd: "meta.ref.url", utype: "obscore:Access.Reference"),
        Field("access_format", ucd: "meta.code.mime", utype: "obscore:Access.Format"),
        Field("access_estsize", "long", unit: "kbyte", ucd: "phys.size;meta.file", utype: "obscore:Access.Size"),
        Field("calib_level", "int", ucd: "meta.code;obs.calib", utype: "obscore:ObsDataset.calibLevel"),
        Field("dataproduct_type", ucd: "meta.id", utype: "obscore:ObsDataset.dataProductType"),
        Field("obs_collection", ucd: "meta.id", utype: "obscore:DataID.Collection"),
        Field("instrument_name", ucd: "meta.id;instr", utype: "obscore:Provenance.ObsConfig.Instrument.name"),
        Field("last_mod_date", ucd: "time.processing", xtype: "timestamp"),
        Field("obs_release_date", ucd: "time.release", utype: "obscore:Curation.releaseDate", xtype: "timestamp"),
    ]

    /// A DataLink service descriptor for a results table whose `obs_publisher_did` is the ID
    /// (the standard's `RESOURCE type="meta" utype="adhoc:service"`), so that clients can ask
    /// for many rows' links in one POST.
    static func datalinkDescriptor(accessURL: String) -> String {
        """
          <RESOURCE type="meta" utype="adhoc:service">
            <PARAM name="standardID" datatype="char" arraysize="*" value="ivo://ivoa.net/std/DataLink#links-1.0"/>
            <PARAM name="accessURL" datatype="char" arraysize="*" value="\(xmlEscape(accessURL))"/>
            <GROUP name="inputParams">
              <PARAM name="ID" datatype="char" arraysize="*" ref="obs_publisher_did" value=""/>
            </GROUP>
          </RESOURCE>

        """
    }
}
