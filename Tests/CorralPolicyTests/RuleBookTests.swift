@testable import CorralPolicy
import CorralRuntimes
import Foundation
import Testing

/// The rule data files: every language covered, every rule well-formed.
struct RuleBookTests {
    static let catalogLanguages = ["python", "javascript", "typescript", "bash", "ruby", "go", "rust", "java",
                                   "c", "cpp", "sql", "swift", "perl", "php", "lua"]

    @Test func everyLanguageHasARuleSet() throws {
        let rules = try RuleBook.shipped()
        for language in Self.catalogLanguages {
            #expect(rules.ruleSet(for: language) != nil, "no rules for \(language)")
        }
        for language in LanguageCatalog.shipped.names {
            #expect(rules.ruleSet(for: language) != nil, "the runtime catalog's \(language) has no rules")
        }
    }

    @Test func rulesAreWellFormed() throws {
        let rules = try RuleBook.shipped()
        for set in rules.ruleSets {
            #expect(!set.rules.isEmpty || set.inherits != nil, "\(set.language) has no rules")
            for rule in set.rules {
                #expect(rule.id.hasPrefix(set.language + "."), "\(rule.id) is not named after \(set.language)")
                let parts = rule.id.split(separator: ".")
                #expect(parts.count == 3, "\(rule.id)")
                // Ids spell dynamic_code as "dynamic".
                let segment = rule.category == .dynamicCode ? "dynamic" : rule.category.rawValue
                if parts.count == 3 { #expect(parts[1] == segment, "\(rule.id) is in category \(rule.category)") }
                #expect(!rule.message.isEmpty)
                if set.analyzer == nil { #expect(rule.pattern != nil, "\(rule.id) has no pattern") }
            }
        }
    }

    @Test func languagesResolveByAliasAndExtension() throws {
        let rules = try RuleBook.shipped()
        #expect(rules.ruleSet(for: "PY")?.language == "python")
        #expect(rules.ruleSet(for: "node")?.language == "javascript")
        #expect(rules.ruleSet(forFile: "dir/x.sh")?.language == "bash")
        #expect(rules.ruleSet(forFile: "main.rs")?.language == "rust")
        #expect(rules.ruleSet(forFile: "Makefile") == nil)
    }

    /// Every rule id an analyzer script can raise has its category, severity and message in the data.
    @Test func analyzerRuleIDsAreDefined() throws {
        let rules = try RuleBook.shipped()
        for (file, prefix) in [("python_analyzer.py", "python."), ("javascript_analyzer.js", "javascript.")] {
            let text = String(decoding: try PolicyResources.data(file), as: UTF8.self)
            let regex = try NSRegularExpression(pattern: "[\"']\(prefix.replacingOccurrences(of: ".", with: "\\."))[a-z_]+\\.[a-z_]+[\"']")
            let ids = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
                String(text[Range($0.range, in: text)!].dropFirst().dropLast())
            }
            #expect(!ids.isEmpty)
            for id in Set(ids) { #expect(rules.rule(id) != nil, "\(file) raises \(id), which no rule file defines") }
        }
    }
}
