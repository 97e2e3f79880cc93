import Testing
@Test func placeholderCLI() { #expect(true) }
