/// The console's style sheet: plain, readable at 200 % zoom (relative sizes, wrapping tables).
enum ConsoleStyle {
    static let text = #"""
    :root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfd; --muted: #5a5a5a; --line: #d0d0d0; --ok: #1a6b2a; --bad: #a3161a; --focus: #1558d6; }
    @media (prefers-color-scheme: dark) { :root { --fg: #e8e8e8; --bg: #161616; --muted: #a8a8a8; --line: #3a3a3a; --ok: #6fcf80; --bad: #ff8a8a; --focus: #8ab4ff; } }
    body { font-family: system-ui, sans-serif; font-size: 1rem; line-height: 1.5; color: var(--fg); background: var(--bg); margin: 0; }
    main { padding: 1rem; max-width: 90rem; }
    .skip { position: absolute; left: -100rem; }
    .skip:focus { left: 1rem; top: 0.5rem; background: var(--bg); padding: 0.5rem; }
    .bar { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: 0.5rem; padding: 0.5rem 1rem; border-bottom: 1px solid var(--line); }
    .bar nav a { margin-right: 1rem; }
    .who { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
    a:focus, button:focus, input:focus, select:focus, [tabindex]:focus { outline: 3px solid var(--focus); outline-offset: 2px; }
    .scroll { overflow-x: auto; max-width: 100%; }
    table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; }
    caption { text-align: left; color: var(--muted); }
    th, td { border-bottom: 1px solid var(--line); padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
    td.details, td.path, .hash { overflow-wrap: anywhere; word-break: break-all; }
    .hash { font-family: ui-monospace, monospace; font-size: 0.9em; }
    .filters { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: flex-end; }
    .filters p { margin: 0.25rem 0; display: flex; flex-direction: column; }
    .facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
    .facts dt { font-weight: bold; }
    .facts dd { margin: 0; }
    .badge { font-weight: bold; padding: 0 0.4rem; border: 1px solid currentColor; border-radius: 0.3rem; }
    .badge.ok { color: var(--ok); }
    .badge.broken { color: var(--bad); }
    .problem, .message { border-left: 4px solid var(--muted); padding-left: 0.75rem; }
    .replay .player { max-width: 60rem; }
    input.key { width: min(40rem, 100%); font-family: ui-monospace, monospace; }
    .commands button { font-family: ui-monospace, monospace; text-align: left; background: none; border: 1px solid var(--line); color: inherit; cursor: pointer; }
    .pages { display: flex; gap: 1rem; }
    """#
}
