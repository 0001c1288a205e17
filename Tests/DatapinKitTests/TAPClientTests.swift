import DatapinKit
@testable import DatapinArchives
import Foundation
import Testing
import TestSupport

@Suite struct QueryStatusTests {
    @Test func theLastStatusCountsSoAnOverflowAfterTheTableWins() throws {
        let document = try VOFixtures.document("vo/query-overflowstatus.xml")
        #expect(document.resultsResource?.infos.map { $0.value } == ["OK", "OVERFLOW"])
        #expect(document.queryStatus == .overflow)
    }

    @Test func anErrorStatusCarriesTheServicesMessage() throws {
        #expect(try VOFixtures.document("vo/query-errorstatus.xml").queryStatus == .error("ERROR"))
        let withoutValue = """
        <VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results"><INFO name="QUERY_STATUS">Table dbo.raws does not exist</INFO></RESOURCE></VOTABLE>
        """
        #expect(try VOTableDocument.parse(Data(withoutValue.utf8)).queryStatus == .error("Table dbo.raws does not exist"))
    }

    @Test func noStatusIsOK() throws {
        #expect(try VOFixtures.document("vo/tap-obscore-image.xml").queryStatus == .ok)
    }

    @Test func aStatusInAServiceDescriptorDoesNotCount() throws {
        let text = """
        <VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><INFO name="QUERY_STATUS" value="OK"/><RESOURCE type="results"><TABLE><FIELD name="a" datatype="int"/>\
        <DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE>\
        <RESOURCE type="meta" utype="adhoc:service"><INFO name="QUERY_STATUS" value="ERROR">not this one</INFO></RESOURCE></VOTABLE>
        """
        #expect(try VOTableDocument.parse(Data(text.utf8)).queryStatus == .ok)
    }

    @Test func aLockRefusesATruncatedAnswer() throws {
        let document = try VOFixtures.document("vo/query-overflowstatus.xml")
        let answer = TAPAnswer(url: "http://tap.example/sync", document: document, table: try #require(document.resultsTable), status: document.queryStatus)
        #expect(answer.isTruncated)
        #expect(throws: ArchiveError.truncated(archive: "eso", rows: 3)) {
            try answer.completeTable(archive: "eso")
        }
        #expect(ArchiveError.truncated(archive: "eso", rows: 3).message
            == "archive 'eso' truncated the answer at 3 rows (OVERFLOW); narrow the query")
    }
}

@Suite struct UWSJobTests {
    @Test func aCompletedJobNamesItsResult() throws {
        let job = try UWSJob.parse(VOFixtures.data("vo/uws-job.xml"))
        #expect(job.jobID == "1337")
        #expect(job.phase == .completed)
        #expect(job.resultURL == "http://example.com/tap/async/1337/results/result")
        #expect(job.errorMessage == nil)
    }

    @Test func aFailedJobCarriesItsMessage() throws {
        let job = try UWSJob.parse(VOFixtures.data("vo/uws-job-error.xml"))
        #expect(job.phase == .error)
        #expect(job.errorMessage == "We have problem")
        #expect(job.results.isEmpty)
        #expect(!job.phase.isActive)
    }

    @Test func aVOTableIsNotAJob() throws {
        #expect(throws: VOTableError.badJob("its root element is <VOTABLE>, not <job>")) {
            try UWSJob.parse(VOFixtures.data("vo/datalink-datalink.xml"))
        }
    }
}

@Suite struct TAPClientTests {
    static let query = "SELECT dp_id, access_url FROM dbo.raw WHERE prog_id = '091.B-0088(B)'"

    static func service(_ fake: FakeTAP, advice: String = "set ESO_USER and ESO_PASSWORD") -> TAPService {
        TAPService(baseURL: fake.tapURL + "/", connection: VOConnection(archiveName: "eso", client: HTTPClient(), refusalAdvice: advice, timeoutSeconds: 30))
    }

    static func fixture(_ name: String) throws -> String { String(decoding: try VOFixtures.data(name), as: UTF8.self) }

    static func error(_ body: () async throws(ArchiveError) -> TAPAnswer) async -> ArchiveError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error
        }
    }

    @Test func aSyncQueryPostsTheTAPParametersAndReadsTheTable() async throws {
        let fake = try FakeTAP(.init(answers: [Self.query: Self.fixture("vo/tap-obscore-image.xml")]))
        defer { fake.shutdown() }
        let answer = try await Self.service(fake).querySync(Self.query, maxRecords: 5000)
        #expect(answer.status == .ok)
        #expect(answer.table.rowCount == 10)
        #expect(answer.url == fake.tapURL + "/sync")
        #expect(try answer.completeTable(archive: "eso")[row: 0].string("obs_collection") == "Carte du Ciel")
        let request = try #require(fake.requests.first)
        #expect(fake.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.path == "/tap/sync")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
        let form = FakeTAP.formItems(request)
        #expect(form.map(\.name) == ["REQUEST", "LANG", "QUERY", "FORMAT", "RESPONSEFORMAT", "MAXREC"])
        #expect(form.map(\.value) == ["doQuery", "ADQL", Self.query, "votable", "votable", "5000"])
    }

    @Test func aSyncOverflowIsReturnedSoTheLockCanRefuseIt() async throws {
        let fake = try FakeTAP(.init(answers: [Self.query: Self.fixture("vo/query-overflowstatus.xml")]))
        defer { fake.shutdown() }
        let answer = try await Self.service(fake).querySync(Self.query)
        #expect(answer.isTruncated)
        #expect(answer.table.rows.map { $0.integer("1") } == [23, 42, 1337])
        #expect(throws: ArchiveError.truncated(archive: "eso", rows: 3)) {
            try answer.completeTable(archive: "eso")
        }
    }

    @Test func anErrorStatusIsASentenceWithTheServicesMessage() async throws {
        let fake = try FakeTAP(.init(answers: [Self.query: Self.fixture("vo/query-errorstatus.xml")]))
        defer { fake.shutdown() }
        let service = Self.service(fake)
        let inAnOKAnswer = await Self.error { () throws(ArchiveError) in try await service.querySync(Self.query) }
        #expect(inAnOKAnswer == .unsupportedRequest(archive: "eso", reason: "the TAP query failed: ERROR"))
        let withHTTP400 = await Self.error { () throws(ArchiveError) in try await service.querySync("SELECT * FROM nowhere") }
        #expect(withHTTP400?.message == "archive 'eso' cannot do this: the TAP query failed: Query syntax error: no such query in this fake: SELECT * FROM nowhere")
    }

    @Test func aRefusalNamesTheVariables() async throws {
        let fake = try FakeTAP(.init(refusesEveryone: true))
        defer { fake.shutdown() }
        let service = Self.service(fake)
        let error = await Self.error { () throws(ArchiveError) in try await service.querySync(Self.query) }
        #expect(error == .notAuthorised(url: fake.tapURL + "/sync", status: 401, advice: "set ESO_USER and ESO_PASSWORD"))
    }

    @Test func anAsyncQueryRunsPollsWithBoundedWaitsReadsAndDeletesWithoutFollowingThe303() async throws {
        let fake = try FakeTAP(.init(answers: [Self.query: Self.fixture("vo/tap-obscore-image.xml")], executingPolls: 2))
        defer { fake.shutdown() }
        // A budget far beyond the test's run time, however starved the machine: WAIT is then always the maximum.
        let policy = UWSPolicy(budgetSeconds: 3600, maximumWaitSeconds: 7, backoff: StillExecutingPolicy(initialDelaySeconds: 0.01, maximumAttempts: 100))
        let answer = try await Self.service(fake).queryAsync(Self.query, policy: policy)
        #expect(answer.table.rowCount == 10)
        #expect(answer.url == fake.tapURL + "/async/1/results/result")
        #expect(fake.requests.map { "\($0.method) \($0.uri)" } == [
            "POST /tap/async", "POST /tap/async/1/phase",
            "GET /tap/async/1?WAIT=7", "GET /tap/async/1?WAIT=7", "GET /tap/async/1?WAIT=7",
            "GET /tap/async/1/results/result", "DELETE /tap/async/1",
        ])
        #expect(FakeTAP.formItems(fake.requests[0]).first { $0.name == "QUERY" }?.value == Self.query)
        #expect(FakeTAP.formItems(fake.requests[1]).map(\.value) == ["RUN"])
        #expect(fake.deletedJobs == [1])
        #expect(fake.jobListRequests == 0, "the DELETE's 303 to the job list was followed")
    }

    @Test func aFailedJobIsTheServicesMessageAndIsDeleted() async throws {
        let fake = try FakeTAP(.init(answers: [Self.query: ""], executingPolls: 0, jobError: "We have problem"))
        defer { fake.shutdown() }
        let service = Self.service(fake)
        let error = await Self.error { () throws(ArchiveError) in try await service.queryAsync(Self.query) }
        #expect(error?.message == "archive 'eso' cannot do this: the TAP query failed: We have problem")
        #expect(fake.deletedJobs == [1])
        #expect(fake.jobListRequests == 0)
    }

    @Test func aJobStillExecutingAfterTheBudgetIsAbandonedAndDeleted() async throws {
        let fake = try FakeTAP(.init(neverFinishes: true))
        defer { fake.shutdown() }
        let service = Self.service(fake)
        let policy = UWSPolicy(budgetSeconds: 1, maximumWaitSeconds: 30, backoff: StillExecutingPolicy(initialDelaySeconds: 0.05, backoff: 2, maximumDelaySeconds: 0.2, maximumAttempts: 1000))
        let error = await Self.error { () throws(ArchiveError) in try await service.queryAsync(Self.query, policy: policy) }
        #expect(error == .unreachable(url: fake.tapURL + "/async/1", reason: "the TAP job was still EXECUTING after 1 s; try again later or narrow the query"))
        #expect(fake.waits.allSatisfy { $0 == "1" }, "WAIT never asks past the budget: \(fake.waits)")
        #expect(!fake.waits.isEmpty)
        #expect(fake.deletedJobs == [1])
    }
}
