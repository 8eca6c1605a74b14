import Foundation
import Testing

/// The built `cltrain` on bad input, as a hostile new user would try it: every row must be a clean
/// refusal (non-zero exit, no trap) whose message names the problem. The reliability work adds its
/// rows in files of their own beside this one, a table per class of input.
@Suite("cltrain refuses bad input")
struct CLIBadInputTests {
    static let unparsable: [BadInput] = [
        BadInput(["train", "--resume"], mentions: ["--resume", "--checkpoint"]),
        BadInput(["train", "--data", "synthetic"], mentions: ["--vocab"]),
        BadInput(["no-such-command"], mentions: ["no-such-command"]),
        BadInput(["train", "--layers", "two"], mentions: ["--layers", "two"]),
    ]

    @Test("flags that cannot be parsed or combined", arguments: unparsable)
    func parsing(_ input: BadInput) throws { try expectRefused(input) }

    @Test("a run that succeeds is not mistaken for a refusal")
    func successIsSeen() throws {
        let result = try CLI.run(["--help"])
        #expect(result.status == 0 && !result.crashed, "\(result)")
    }
}
