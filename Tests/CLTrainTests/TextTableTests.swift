import Testing
@testable import CLTrain

@Suite("Text table")
struct TextTableTests {
    @Test func alignsColumnsAndRightAlignsNumbers() {
        var table = TextTable(headers: ["name", "errors", "index"])
        table.append(["gemm", "1.50e-06", "0"])
        table.append(["softmaxCrossEntropy", "-", "cpu"])
        table.append(["axpy", "12"])
        #expect(table.rendered() == """
            name                   errors  index
            -------------------  --------  -----
            gemm                 1.50e-06  0
            softmaxCrossEntropy         -  cpu
            axpy                       12
            """)
    }
}
