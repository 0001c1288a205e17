import DatapinKit
import Foundation
import Testing

@Suite("RetryPolicy")
struct RetryPolicyTests {
    @Test func theDefaultsMatchTheDesign() {
        let policy = RetryPolicy.default
        #expect(policy.maxAttempts == 5)
        #expect(policy.baseDelay == 0.5)
        #expect(policy.maxDelay == 30)
    }

    @Test(arguments: [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 30.0), (100, 30.0)])
    func theBackoffCeilingDoublesUpToTheCap(failure: Int, ceiling: Double) {
        #expect(RetryPolicy().backoffCeiling(afterFailure: failure) == ceiling)
    }

    @Test(arguments: [0.0, 0.25, 0.999])
    func theDelayIsFullJitterBelowTheCeiling(random: Double) {
        let policy = RetryPolicy(random: { random })
        for failure in 1...8 {
            #expect(policy.delay(afterFailure: failure) == policy.backoffCeiling(afterFailure: failure) * random)
        }
    }

    @Test func attemptsAreCountedFromTheFirstTry() {
        let policy = RetryPolicy(maxAttempts: 3)
        #expect(policy.allowsRetry(afterFailures: 1))
        #expect(policy.allowsRetry(afterFailures: 2))
        #expect(!policy.allowsRetry(afterFailures: 3))
        #expect(!RetryPolicy(maxAttempts: 0).allowsRetry(afterFailures: 1))
    }

    @Test(arguments: [("1", 1.0), (" 17 ", 17.0), ("0", 0.0), ("100000", 120.0)])
    func retryAfterInSecondsIsHonouredAndCapped(header: String, seconds: Double) {
        let policy = RetryPolicy(random: { 0.5 })
        #expect(policy.retryAfterSeconds(header) == seconds)
        #expect(policy.delay(afterFailure: 3, retryAfter: header) == seconds)
    }

    @Test func retryAfterAsAnHTTPDateIsMeasuredFromNow() {
        let now = Date(timeIntervalSince1970: 1_445_412_480) // Wed, 21 Oct 2015 07:28:00 GMT
        let policy = RetryPolicy(now: { now })
        #expect(policy.retryAfterSeconds("Wed, 21 Oct 2015 07:28:45 GMT") == 45)
        #expect(policy.retryAfterSeconds("Wed, 21 Oct 2015 07:00:00 GMT") == 0)
        #expect(policy.retryAfterSeconds("Thu, 22 Oct 2015 07:28:00 GMT") == 120)
    }

    @Test(arguments: ["soon", "", "-5", "1.5"])
    func anUnusableRetryAfterFallsBackToBackoff(header: String) {
        let policy = RetryPolicy(random: { 0.5 })
        #expect(policy.retryAfterSeconds(header) == nil)
        #expect(policy.delay(afterFailure: 2, retryAfter: header) == 0.5)
    }
}
