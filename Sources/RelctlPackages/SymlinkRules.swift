import RelctlCore

/// The rules a package's symlinks follow, checked on the package's own tree without touching a disk.
///
/// A link is judged with every other link of the package followed, as the kernel will follow them
/// once the package is extracted: `x → .` and `up → x/x/../../escaped` each look contained alone,
/// together `up` leads two folders above the package. So each target is resolved component by
/// component through the package's links (a link's resolution does not depend on how it was
/// reached, so each one is resolved once), and a link is refused when its resolution leaves the
/// package root or loops. Resolving one link may nest at most `maxChain` others (Linux's own
/// bound, past which opening it fails with ELOOP anyway; here it also bounds the recursion).
/// Links to links and to folders stay allowed: `libfoo.so → libfoo.so.1 → libfoo.so.1.2.3` and
/// `lib64 → lib` are common in real packages.
///
/// An entry stored *under* a link (`up/pwned.txt` where `up` is a link) is refused whatever the
/// link's target: a zip tool that stores links (`zip -y`) stores files in their real folders, and
/// an extractor that never follows links (see `PackageExtractor`) could not place it.
public struct SymlinkRules: Sendable {
    /// Links followed in a row before resolution gives up (Linux's MAXSYMLINKS).
    public static let maxChain = 40
    /// Longest target a link may hold (Linux's PATH_MAX minus the terminating NUL).
    public static let maxTargetLength = 4095

    /// One entry of a package: its path and, for a symlink, its target.
    public struct Item: Sendable {
        public var path: String
        public var symlinkTarget: String?
        public init(path: String, symlinkTarget: String?) {
            self.path = path
            self.symlinkTarget = symlinkTarget
        }
    }

    /// What an entry is called in messages: "Zip entry" for a package, "Merged layer file" for /opt.
    let noun: String
    private var parent: [Int] = [-1]
    private var children: [Int: [Substring: Int]] = [:]
    private var targets: [Int: String] = [:]
    private var linkPaths: [Int: String] = [:]
    private var resolved: [Int: Int] = [:]

    /// Refuses a link that leads outside the package and an entry stored under a link.
    public static func check(_ items: [Item], noun: String = "Zip entry") throws(RelctlError) {
        var rules = SymlinkRules(noun: noun)
        var links: [Int] = []
        for item in items {
            let node = rules.node(for: Self.components(item.path))
            if let target = item.symlinkTarget {
                guard node != 0 else { throw rules.refuse(item.path, target, "names the package's root itself") }
                try rules.checkTarget(item.path, target)
                rules.targets[node] = target
                rules.linkPaths[node] = item.path
                links.append(node)
            }
        }
        for node in links {
            var inProgress = Set<Int>()
            try rules.resolveLink(node, chain: 0, inProgress: &inProgress)
        }
        for item in items {
            var node = 0
            for component in Self.components(item.path).dropLast() {
                node = rules.children[node]?[component] ?? 0
                if let link = rules.linkPaths[node] {
                    throw RelctlError(
                        .invalidParameterValue,
                        "\(noun) '\(item.path)' lies under '\(link)', which is a symlink; entries must be stored in real folders, never through a symlink."
                    )
                }
            }
        }
    }

    /// A path's components, without empty ones and `.`.
    static func components(_ path: String) -> [Substring] {
        path.split(separator: "/").filter { $0 != "." }
    }

    private mutating func node(for components: [Substring]) -> Int {
        var current = 0
        for component in components { current = child(of: current, component) }
        return current
    }

    private mutating func child(of node: Int, _ name: Substring) -> Int {
        if let existing = children[node]?[name] { return existing }
        parent.append(node)
        children[node, default: [:]][name] = parent.count - 1
        return parent.count - 1
    }

    private func checkTarget(_ path: String, _ target: String) throws(RelctlError) {
        let why: String? =
            target.isEmpty
            ? "an empty target"
            : target.utf8.count > Self.maxTargetLength
                ? "a target longer than \(Self.maxTargetLength) bytes"
                : target.contains("\0")
                    ? "a NUL byte in its target"
                    : target.contains("\\")
                        ? "a backslash in its target"
                        : target.hasPrefix("/")
                            ? "an absolute target"
                            : nil
        if let why { throw refuse(path, target, "has \(why)") }
    }

    private func refuse(_ path: String, _ target: String, _ why: String) -> RelctlError {
        let shown = target.count > 200 ? String(target.prefix(200)) + "…" : target
        return RelctlError(
            .invalidParameterValue,
            "\(noun) '\(path)' is a symlink to '\(shown)', which \(why); a symlink must be relative and lead to a path inside the package, also through the package's other symlinks."
        )
    }

    /// The folder node a link leads to, its target resolved from the link's own folder.
    @discardableResult
    private mutating func resolveLink(_ link: Int, chain: Int, inProgress: inout Set<Int>) throws(RelctlError) -> Int {
        if let done = resolved[link] { return done }
        let path = linkPaths[link]!, target = targets[link]!
        guard inProgress.insert(link).inserted else { throw refuse(path, target, "is part of a symlink loop") }
        guard chain < Self.maxChain else {
            throw refuse(path, target, "starts a chain of more than \(Self.maxChain) symlinks")
        }
        var current = parent[link]
        for component in Self.components(target) {
            if component == ".." {
                guard current != 0 else { throw refuse(path, target, "leads outside the package") }
                current = parent[current]
                continue
            }
            current = child(of: current, component)
            if targets[current] != nil {
                // A refusal names the link where resolution failed, the one to fix.
                current = try resolveLink(current, chain: chain + 1, inProgress: &inProgress)
            }
        }
        inProgress.remove(link)
        resolved[link] = current
        return current
    }
}
