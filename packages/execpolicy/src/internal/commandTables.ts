/**
 * Static knowledge about commands: wrappers and how to skip their options, shells, interpreters,
 * environment variables that change what runs, and flags that make an otherwise safe command
 * write files or run code.
 */

/** How to find the wrapped command inside a wrapper's argv. */
export interface WrapperSpec {
  /** Runs the payload with other privileges (so the wrapper itself must be allowed). */
  readonly privileged: boolean
  /** Short option letters that take a value (`-u root`, `-uroot`). */
  readonly shortWithValue: string
  /** Long options that take a value when not written as `--opt=value`. */
  readonly longWithValue: ReadonlyArray<string>
  /** Positional operands between the options and the command (`timeout 5 cmd`, `chroot /x cmd`). */
  readonly operands: number
  /** Accepts `NAME=value` words before the command (`env`, `sudo`). */
  readonly assignments: boolean
  /** Options after which no command runs (lookup or pid modes), or an interactive shell starts. */
  readonly noPayloadFlags: string
  /** With no command, the wrapper starts an interactive shell (uncertain). */
  readonly shellWhenEmpty: boolean
  /** Option letters whose value is a shell command line (`su -c`, `flock -c`). */
  readonly commandOption: string
}

const spec = (s: Partial<WrapperSpec>): WrapperSpec => ({
  privileged: false,
  shortWithValue: "",
  longWithValue: [],
  operands: 0,
  assignments: false,
  noPayloadFlags: "",
  shellWhenEmpty: false,
  commandOption: "",
  ...s
})

/** Wrappers that run another command, by basename. */
export const WRAPPERS: ReadonlyMap<string, WrapperSpec> = new Map<string, WrapperSpec>([
  ["sudo", spec({
    privileged: true,
    shortWithValue: "ugCDprtTUh",
    longWithValue: ["--user", "--group", "--host", "--close-from", "--chdir", "--prompt", "--role", "--type",
      "--command-timeout", "--other-user"],
    assignments: true,
    noPayloadFlags: "lvkKV",
    shellWhenEmpty: true
  })],
  ["doas", spec({ privileged: true, shortWithValue: "uC", shellWhenEmpty: true })],
  ["pkexec", spec({ privileged: true, longWithValue: ["--user"], shellWhenEmpty: true })],
  ["su", spec({ privileged: true, shortWithValue: "sgGw", longWithValue: ["--shell", "--group", "--supp-group",
    "--whitelist-environment"], commandOption: "c", shellWhenEmpty: true, operands: 0 })],
  ["runuser", spec({ privileged: true, shortWithValue: "usgGw", longWithValue: ["--user", "--shell", "--group",
    "--supp-group", "--whitelist-environment"], commandOption: "c", shellWhenEmpty: true })],
  ["chroot", spec({ privileged: true, longWithValue: ["--userspec", "--groups"], operands: 1, shellWhenEmpty: true })],
  ["setpriv", spec({ privileged: true, longWithValue: ["--reuid", "--regid", "--groups", "--inh-caps",
    "--ambient-caps", "--bounding-set", "--securebits", "--selinux-label", "--apparmor-profile"] })],
  ["proot", spec({ privileged: true, shortWithValue: "rbmwqk", longWithValue: ["--rootfs", "--bind", "--mount", "--cwd",
    "--qemu", "--kernel-release"], shellWhenEmpty: true })],
  ["env", spec({ shortWithValue: "uCPS", longWithValue: ["--unset", "--chdir", "--split-string"], assignments: true })],
  ["timeout", spec({ shortWithValue: "sk", longWithValue: ["--signal", "--kill-after"], operands: 1 })],
  ["nice", spec({ shortWithValue: "n", longWithValue: ["--adjustment"] })],
  ["ionice", spec({ shortWithValue: "cn", longWithValue: ["--class", "--classdata"], noPayloadFlags: "pPu" })],
  ["chrt", spec({ shortWithValue: "T", noPayloadFlags: "p", operands: 1 })],
  ["taskset", spec({ noPayloadFlags: "p", operands: 1 })],
  ["nohup", spec({})],
  ["time", spec({ shortWithValue: "fo", longWithValue: ["--format", "--output"] })],
  ["command", spec({ noPayloadFlags: "" })],
  ["builtin", spec({})],
  ["exec", spec({ shortWithValue: "a" })],
  ["stdbuf", spec({ shortWithValue: "ioe", longWithValue: ["--input", "--output", "--error"] })],
  ["setsid", spec({})],
  ["unbuffer", spec({})],
  ["busybox", spec({})],
  ["flock", spec({ shortWithValue: "wEc", longWithValue: ["--timeout", "--conflict-exit-code", "--command"],
    operands: 1, commandOption: "c" })],
  ["strace", spec({ shortWithValue: "abeEIoOpPsSuUX", noPayloadFlags: "" })],
  ["ltrace", spec({ shortWithValue: "aAeElnopsuwxX" })],
  ["caffeinate", spec({ shortWithValue: "tw" })],
  ["dbus-run-session", spec({ longWithValue: ["--config-file", "--dbus-daemon"] })],
  ["faketime", spec({ shortWithValue: "f", operands: 1 })]
])

/** Shells: `-c SCRIPT` runs a script; with no script they read commands from stdin. */
export const SHELLS: ReadonlySet<string> = new Set([
  "sh", "bash", "zsh", "dash", "ksh", "ksh93", "mksh", "ash", "fish", "csh", "tcsh", "rbash", "yash", "pdksh", "posh"
])

/** Interpreters: running one with inline code (`-c`, `-e`) is opaque; a bare one is never an amendment. */
export const INTERPRETERS: ReadonlyMap<string, ReadonlyArray<string>> = new Map<string, ReadonlyArray<string>>([
  ["python", ["-c"]],
  ["python2", ["-c"]],
  ["python3", ["-c"]],
  ["pypy", ["-c"]],
  ["pypy3", ["-c"]],
  ["node", ["-e", "-p", "--eval", "--print"]],
  ["nodejs", ["-e", "-p", "--eval", "--print"]],
  ["deno", ["eval"]],
  ["bun", ["-e", "--eval", "-p", "--print"]],
  ["perl", ["-e", "-E"]],
  ["ruby", ["-e"]],
  ["php", ["-r"]],
  ["lua", ["-e"]],
  ["luajit", ["-e"]],
  ["tclsh", []],
  ["rscript", ["-e"]],
  ["osascript", ["-e"]],
  ["pwsh", ["-c", "-command"]],
  ["powershell", ["-c", "-command"]],
  ["awk", []],
  ["gawk", []],
  ["jshell", []],
  ["irb", []],
  ["ghci", []]
])

/** True for names that are shells, interpreters or wrappers (never proposed as a bare amendment). */
export const isLauncher = (base: string): boolean =>
  SHELLS.has(base) || INTERPRETERS.has(base) || WRAPPERS.has(base) || base === "eval" || base === "xargs" ||
  base === "watch" || base === "trap" || base === "source" || base === "." || /^python\d+(\.\d+)?$/.test(base)

/** Environment variables whose value changes which program runs or what it loads. */
export const DANGEROUS_ENV: ReadonlySet<string> = new Set([
  "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH",
  "PATH", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "IFS", "CDPATH",
  "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "GIT_EDITOR", "GIT_ASKPASS", "GIT_EXEC_PATH",
  "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_PROXY_COMMAND",
  "PAGER", "EDITOR", "VISUAL", "SSH_ASKPASS", "SUDO_ASKPASS", "NODE_OPTIONS", "NODE_PATH", "PYTHONSTARTUP",
  "PYTHONPATH", "PYTHONHOME", "PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS", "LESSOPEN", "LESSCLOSE", "MANPAGER", "BROWSER", "NPM_CONFIG_SCRIPT_SHELL", "RUSTC_WRAPPER",
  "CARGO_BUILD_RUSTC_WRAPPER", "CC", "CXX", "LDFLAGS"
])

/**
 * Flags that make an otherwise read-only command write files or run code. An allow rule (trusted
 * prefix or typed allow) does not cover these unless the rule itself spells them (weakness W4).
 * Long options match with or without `=value`; short letters match anywhere in a cluster.
 */
export interface RiskyFlags {
  readonly long: ReadonlyArray<string>
  readonly short: string
  /** Single-dash words matched exactly (`find -exec`). */
  readonly words: ReadonlyArray<string>
}

const risky = (long: ReadonlyArray<string>, short = "", words: ReadonlyArray<string> = []): RiskyFlags => ({
  long,
  short,
  words
})

/** Per-command risky flags (by basename). */
export const RISKY_FLAGS: ReadonlyMap<string, RiskyFlags> = new Map<string, RiskyFlags>([
  ["git", risky(["--output", "--output-directory", "--exec", "--upload-pack", "--receive-pack", "--config-env",
    "--exec-path", "--ext-diff", "--git-dir", "--work-tree", "--template", "--run"])],
  ["find", risky([], "", ["-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls"])],
  ["fd", risky(["--exec", "--exec-batch"], "xX")],
  ["sed", risky(["--in-place"], "i")],
  ["gsed", risky(["--in-place"], "i")],
  ["perl", risky([], "i")],
  ["sort", risky(["--output", "--compress-program"], "o")],
  ["rg", risky(["--pre", "--pre-glob"])],
  ["tar", risky(["--to-command", "--checkpoint-action", "--use-compress-program", "--info-script", "--new-volume-script"],
    "IF")],
  ["curl", risky(["--output", "--remote-name", "--remote-name-all", "--upload-file", "--config", "--output-dir"],
    "oOTK")],
  ["wget", risky(["--output-document", "--output-file", "--append-output", "--post-file", "--execute"], "OoaPe")],
  ["less", risky(["--lesskey-file"], "o")],
  ["xxd", risky([], "r")],
  ["journalctl", risky(["--vacuum-size", "--vacuum-time", "--vacuum-files", "--rotate", "--flush"])],
  ["date", risky(["--set"], "s")],
  ["hostname", risky(["--file"], "F")]
])

const ARITY_ROWS: ReadonlyArray<readonly [string, number, string]> = [
  ["git", 2, "add am apply bisect blame branch cat-file checkout cherry-pick clean clone commit config describe diff fetch format-patch grep init log ls-files merge mv notes pull push rebase reflog remote reset restore revert rm show stash status submodule switch tag worktree"],
  ["npm", 2, "audit build cache ci dedupe fund help info init install link list ls outdated pack prune publish rebuild start stop test uninstall update version view"],
  ["npm", 3, "run"],
  ["yarn", 2, "add audit build install start test upgrade"],
  ["yarn", 3, "run workspace"],
  ["pnpm", 2, "add build install start test update"],
  ["pnpm", 3, "run"],
  ["cargo", 2, "add bench build check clean clippy doc fix fmt generate install metadata package publish remove run search test tree uninstall update yank"],
  ["docker", 2, "build cp exec images inspect kill logs ps pull push rm rmi run start stop tag"],
  ["docker", 3, "compose container image network system volume"],
  ["kubectl", 2, "apply exec explain label logs patch port-forward scale set"],
  ["kubectl", 3, "create delete describe get rollout top"],
  ["go", 2, "build clean env fmt generate get install list run test vet"],
  ["go", 3, "mod work"],
  ["pip", 2, "install uninstall list show freeze"],
  ["pip3", 2, "install uninstall list show freeze"],
  ["python", 3, "-m"],
  ["python3", 3, "-m"],
  ["gh", 3, "pr issue repo release workflow run secret"],
  ["rustup", 2, "default install show update"],
  ["rustup", 3, "target toolchain"],
  ["deno", 2, "run test fmt lint"],
  ["bun", 2, "add build install test"],
  ["bun", 3, "run"],
  ["aws", 3, "s3 ec2 iam lambda cloudformation ecs eks rds sts"],
  ["aws", 2, "configure"],
  ["terraform", 2, "init plan apply destroy validate output"],
  ["terraform", 3, "state workspace"],
  ["helm", 2, "install upgrade uninstall list status template"],
  ["helm", 3, "repo"]
]

/**
 * The seed's arity dictionary (`bash_arity.rs`): command prefix → number of positional words that
 * form the canonical prefix. `make`/`cmake` are 1, `npx` is 2.
 */
export const ARITY: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>([["make", 1], ["cmake", 1], ["npx", 2]])
  for (const [base, arity, subs] of ARITY_ROWS) {
    for (const sub of subs.split(" ")) m.set(`${base} ${sub}`, arity)
  }
  return m
})()
