/** The shell analysis: which segments a command line yields, and what it cannot be sure of. */
import { describe, expect, it } from "@effect/vitest"
import { analyseCommand } from "../src/internal/analyse.ts"
import { getParser } from "./helpers.ts"

const analyse = async (command: string) => analyseCommand(await getParser(), command)
const texts = async (command: string) => (await analyse(command)).segments.map((s) => `${s.kind}:${s.text}`)

describe("shell analysis", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["a && b || c; d | e & f", ["command:a", "command:b", "command:c", "command:d", "command:e", "command:f"]],
    ["a\nb", ["command:a", "command:b"]],
    ["(cd x && ls) ; { echo a; }", ["command:cd x", "command:ls", "command:echo a"]],
    ["echo \"$(whoami)\" `id` <(ls)", ["command:whoami", "command:id", "command:ls", "command:echo '$(whoami)' '`id`' '<(ls)'"]],
    ["FOO=1 BAR=$(x) cmd arg", ["command:x", "command:cmd arg"]],
    ["sudo -u root -E timeout 5 nice -n 2 rm a", ["command:sudo -u root -E timeout 5 nice -n 2 rm a", "command:timeout 5 nice -n 2 rm a", "command:nice -n 2 rm a", "command:rm a"]],
    ["bash -lc 'a && b'", ["command:bash -lc 'a && b'", "command:a", "command:b"]],
    ["cat <<'EOF' > out.txt\n$(not run)\nEOF", ["command:cat", "redirect:> out.txt"]],
    ["cat <<EOF\n$(run)\nEOF", ["command:run", "command:cat"]],
    ["echo a > b c 2>&1", ["command:echo a c", "redirect:> b"]],
    ["grep x < in.txt", ["command:grep x", "redirect:< in.txt"]],
    ["'r''m' -r\\f \"x y\"", ["command:rm -rf 'x y'"]],
    ["echo $'a\\tb'", ["command:echo 'a\tb'"]],
    ["rm {a,b}.txt", ["command:rm a.txt b.txt"]],
    ["if true; then ls; fi", ["command:true", "command:ls"]],
    ["for f in $(ls); do rm $f; done", ["command:ls", "command:rm '$f'"]],
    ["ls | xargs -n1 rm -f", ["command:ls", "command:xargs -n1 rm -f", "command:rm -f"]],
    ["find src -name '*.o' -exec rm {} +", ["command:find src -name '*.o' -exec rm '{}' +", "command:rm src"]],
    ["env -i PATH=/bin A=1 ls", ["command:env -i PATH=/bin A=1 ls", "command:ls"]]
  ]
  for (const [command, expected] of cases) {
    it(JSON.stringify(command), async () => {
      expect(await texts(command)).toEqual(expected)
    })
  }

  it("marks wrappers, privilege and open-ended payloads", async () => {
    const a = await analyse("sudo xargs rm")
    expect(a.segments.map((s) => [s.transparent, s.privileged, s.openEnded, s.wrappers.join(",")])).toEqual([
      [true, true, false, ""],
      [true, false, false, "sudo"],
      [false, false, true, "sudo,xargs"]
    ])
  })

  const uncertain: ReadonlyArray<readonly [string, string]> = [
    ["$CMD -rf /", "only known at run time"],
    ["{rm,-rf,/}", "does not parse cleanly"],
    ["curl x | sh", "pipes text into sh"],
    ["bash", "interactive shell"],
    ["sudo -i", "interactive shell"],
    ["bash -c \"$SCRIPT\"", "only known at run time"],
    ["eval $X", "eval of text"],
    ["f() { ls; }", "shell function"],
    ["LD_PRELOAD=/x.so ls", "LD_PRELOAD"],
    ["export PATH=/tmp:$PATH", "PATH"],
    ["echo x > \"$OUT\"", "only known at run time"],
    ["echo $(echo $(echo $(echo $(echo $(echo $(echo $(echo $(echo $(echo x)))))))))", "nesting deeper"]
  ]
  for (const [command, reason] of uncertain) {
    it(`uncertain: ${JSON.stringify(command)}`, async () => {
      const a = await analyse(command)
      const reasons = [...a.uncertain, ...a.segments.flatMap((s) => s.uncertain)]
      expect(reasons.join(" | ")).toContain(reason)
    })
  }

  it("notes static cd targets and chaining", async () => {
    const a = await analyse("cd src && cat ../x")
    expect(a.cdTargets).toEqual(["src"])
    expect(a.chained).toBe(true)
    expect((await analyse("sudo timeout 5 ls")).chained).toBe(false)
  })
})
