use super::*;
use proptest::prelude::*;

fn texts(r: &ReadableCommand) -> Vec<&str> {
    r.steps.iter().map(|s| s.text.as_str()).collect()
}

fn split(script: &str) -> Vec<String> {
    split_commands(script).into_iter().map(|s| s.text).collect()
}

#[test]
fn classic_run_apt_chain_splits_at_and() {
    let r = readable_command(
        "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*",
    );
    assert_eq!(r.instruction, "RUN");
    assert!(!r.buildkit);
    assert_eq!(
        texts(&r),
        [
            "apt-get update",
            "apt-get install -y --no-install-recommends ca-certificates curl",
            "rm -rf /var/lib/apt/lists/*"
        ]
    );
    assert_eq!(r.steps[0].joiner, None);
    assert_eq!(r.steps[1].joiner, Some(Joiner::And));
    assert_eq!(r.steps[2].joiner, Some(Joiner::And));
}

#[test]
fn classic_nop_steps_name_their_instruction() {
    let env =
        readable_command("/bin/sh -c #(nop)  ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/bin");
    assert_eq!(env.instruction, "ENV");
    assert_eq!(
        texts(&env),
        ["PATH=/usr/local/sbin:/usr/local/bin:/usr/bin"]
    );
    let add = readable_command(
        "/bin/sh -c #(nop) ADD file:e5a364615e0f6961626089c7d658adbf8c8d95b3ae95a390a8bb33875317d434 in / ",
    );
    assert_eq!(add.instruction, "ADD");
    assert_eq!(
        texts(&add),
        ["file:e5a364615e0f6961626089c7d658adbf8c8d95b3ae95a390a8bb33875317d434 in /"]
    );
    let cmd = readable_command("/bin/sh -c #(nop)  CMD [\"bash\" \"-c\" \"a && b\"]");
    assert_eq!(cmd.instruction, "CMD");
    assert_eq!(cmd.steps.len(), 1, "only RUN is split: {cmd:?}");
}

#[test]
fn buildkit_run_with_build_args_and_suffix() {
    let r = readable_command(
        "RUN |2 NODE_VERSION=18.19.0 YARN_VERSION=1.22.19 /bin/sh -c echo \"a && b; c\" && npm ci --omit=dev # buildkit",
    );
    assert_eq!(r.instruction, "RUN");
    assert!(r.buildkit);
    assert_eq!(
        r.build_args,
        ["NODE_VERSION=18.19.0", "YARN_VERSION=1.22.19"]
    );
    assert_eq!(texts(&r), ["echo \"a && b; c\"", "npm ci --omit=dev"]);
}

#[test]
fn classic_run_with_build_args() {
    let r = readable_command("|1 GOOS=linux /bin/sh -c go build ./... && go test ./...");
    assert_eq!(r.instruction, "RUN");
    assert_eq!(r.build_args, ["GOOS=linux"]);
    assert_eq!(texts(&r), ["go build ./...", "go test ./..."]);
}

#[test]
fn buildkit_semicolon_chain_from_official_images() {
    let r = readable_command(
        "RUN /bin/sh -c set -eux; \tapt-get update; \tapt-get install -y --no-install-recommends gosu; \trm -rf /var/lib/apt/lists/*; \tgosu nobody true # buildkit",
    );
    assert_eq!(
        texts(&r),
        [
            "set -eux",
            "apt-get update",
            "apt-get install -y --no-install-recommends gosu",
            "rm -rf /var/lib/apt/lists/*",
            "gosu nobody true"
        ]
    );
    assert!(r.steps[1..].iter().all(|s| s.joiner == Some(Joiner::Seq)));
}

#[test]
fn buildkit_metadata_instructions() {
    for (input, instruction, arg) in [
        (
            "COPY package.json package-lock.json ./ # buildkit",
            "COPY",
            "package.json package-lock.json ./",
        ),
        ("ENV NODE_ENV=production", "ENV", "NODE_ENV=production"),
        ("WORKDIR /app", "WORKDIR", "/app"),
        ("EXPOSE map[3000/tcp:{}]", "EXPOSE", "map[3000/tcp:{}]"),
        (
            "CMD [\"node\" \"dist/apps/api/main.js\"]",
            "CMD",
            "[\"node\" \"dist/apps/api/main.js\"]",
        ),
        ("ARG TARGETARCH=amd64", "ARG", "TARGETARCH=amd64"),
        (
            "RUN [\"/bin/busybox\", \"--install\"] # buildkit",
            "RUN",
            "[\"/bin/busybox\", \"--install\"]",
        ),
    ] {
        let r = readable_command(input);
        assert_eq!(r.instruction, instruction, "{input}");
        assert_eq!(texts(&r), [arg], "{input}");
    }
}

#[test]
fn heredoc_run_is_one_block() {
    let r = readable_command(
        "RUN /bin/sh -c <<EOF\nset -e\napt-get update && apt-get install -y curl\necho 'done; really'\nEOF # buildkit",
    );
    assert_eq!(r.instruction, "RUN");
    assert!(r.buildkit);
    assert_eq!(
        texts(&r),
        ["<<EOF\nset -e\napt-get update && apt-get install -y curl\necho 'done; really'\nEOF"]
    );
}

#[test]
fn heredoc_into_a_file_then_more_commands() {
    let steps = split(
        "cat <<'CONF' > /etc/app.conf\nkey=$VALUE && other\n\"unbalanced\nCONF\necho done && ls",
    );
    assert_eq!(
        steps,
        [
            "cat <<'CONF' > /etc/app.conf\nkey=$VALUE && other\n\"unbalanced\nCONF",
            "echo done",
            "ls"
        ]
    );
    let tabs = split("cat <<-\"END\" >x\n\tline; two\n\tEND\nnext");
    assert_eq!(tabs, ["cat <<-\"END\" >x\n\tline; two\n\tEND", "next"]);
    let two = split("paste <<A <<B\n1\nA\n2\nB\nwc");
    assert_eq!(two, ["paste <<A <<B\n1\nA\n2\nB", "wc"]);
    let unclosed = split("cat <<EOF\nnever closed && x");
    assert_eq!(unclosed, ["cat <<EOF\nnever closed && x"]);
    assert_eq!(split("cat <<< 'a && b' && c"), ["cat <<< 'a && b'", "c"]);
}

#[test]
fn quotes_substitutions_and_groups_are_not_split() {
    assert_eq!(split("sh -c 'a && b; c' && d"), ["sh -c 'a && b; c'", "d"]);
    assert_eq!(
        split("export V=$(cat /x && echo \"y; z\") && make"),
        ["export V=$(cat /x && echo \"y; z\")", "make"]
    );
    assert_eq!(split("a=`b; c` ; d"), ["a=`b; c`", "d"]);
    assert_eq!(
        split("(cd /x && make) && { a; b; } ; e"),
        ["(cd /x && make)", "{ a; b; }", "e"]
    );
    assert_eq!(
        split("echo \"$(date; echo \")\")\" && x"),
        ["echo \"$(date; echo \")\")\"", "x"]
    );
    assert_eq!(split("echo a\\;b && c"), ["echo a\\;b", "c"]);
}

#[test]
fn shell_keywords_keep_their_bodies() {
    assert_eq!(
        split("if [ -f x ]; then a; else b; fi && c"),
        ["if [ -f x ]; then a; else b; fi", "c"]
    );
    assert_eq!(
        split("for f in a b; do echo $f; done; ls"),
        ["for f in a b; do echo $f; done", "ls"]
    );
    assert_eq!(
        split("case \"$x\" in a) echo a;; *) echo b;; esac && ok"),
        ["case \"$x\" in a) echo a;; *) echo b;; esac", "ok"]
    );
    assert_eq!(split("echo if && echo fi"), ["echo if", "echo fi"]);
}

#[test]
fn continuations_pipes_or_and_comments() {
    assert_eq!(
        split("apt-get update \\\n    && apt-get install -y \\\n        curl \\\n    && true"),
        ["apt-get update", "apt-get install -y curl", "true"]
    );
    let or = split_commands("curl -fsSL https://x | tar -xz -C /opt || true");
    assert_eq!(or.len(), 2);
    assert_eq!(or[0].text, "curl -fsSL https://x | tar -xz -C /opt");
    assert_eq!(or[1].joiner, Some(Joiner::Or));
    assert_eq!(split("make 2>&1 & wait"), ["make 2>&1 & wait"]);
    assert_eq!(
        split("# don't && split\necho hi"),
        ["# don't && split", "echo hi"]
    );
    assert_eq!(split("echo a#b && c"), ["echo a#b", "c"]);
}

#[test]
fn odd_inputs_give_an_answer() {
    assert_eq!(readable_command("").steps, Vec::new());
    assert_eq!(readable_command("   ").instruction, "");
    let bk = readable_command("# buildkit");
    assert!(bk.buildkit);
    assert!(bk.steps.is_empty());
    let import = readable_command("Imported from -");
    assert_eq!(import.instruction, "");
    assert_eq!(texts(&import), ["Imported from -"]);
    assert_eq!(
        split("echo \"unterminated && x"),
        ["echo \"unterminated && x"]
    );
    assert_eq!(split(";;; && ||"), Vec::<String>::new());
    assert_eq!(split(") ) } fi done && a"), [") ) } fi done", "a"]);
    let bad_args = readable_command("RUN |9 A=b /bin/sh -c x");
    assert!(
        bad_args.build_args.is_empty(),
        "count does not match: {bad_args:?}"
    );
    assert_eq!(split("é && ü; 日本\\"), ["é", "ü", "日本\\"]);
}

#[test]
fn step_count_is_capped() {
    let script = "a;".repeat(MAX_STEPS * 3);
    let steps = split_commands(&script);
    assert_eq!(steps.len(), MAX_STEPS);
    assert!(
        steps[MAX_STEPS - 1].text.len() > 2,
        "the rest stays in the last step"
    );
}

proptest! {
    #[test]
    fn any_text_gives_trimmed_nonempty_bounded_steps(input in ".{0,300}") {
        let r = readable_command(&input);
        prop_assert!(r.steps.len() <= MAX_STEPS);
        for s in &r.steps {
            prop_assert!(!s.text.is_empty());
            prop_assert_eq!(s.text.trim(), s.text.as_str());
        }
    }

    #[test]
    fn shellish_text_never_panics(input in "[a-z &|;'\"`$(){}<>\\\\#\n\t-]{0,200}") {
        let steps = split_commands(&input);
        prop_assert!(steps.len() <= MAX_STEPS);
        prop_assert!(steps.first().is_none_or(|s| s.joiner.is_none()));
    }

    #[test]
    fn plain_commands_joined_by_and_split_back(words in proptest::collection::vec("[a-z][a-z0-9 ./=-]{0,20}[a-z0-9]", 1..12)) {
        // Shell reserved words open compound commands (`if … fi`), which are not split.
        const RESERVED: [&str; 16] = [
            "if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until",
            "do", "done", "in", "select", "function", "time",
        ];
        prop_assume!(words
            .iter()
            .all(|w| w.split_whitespace().all(|t| !RESERVED.contains(&t))));
        let script = words.join(" && ");
        let got: Vec<String> = split(&script);
        let want: Vec<String> = words.iter().map(|w| w.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        prop_assert_eq!(got, want);
    }
}
