// Long dotted API names (isotree.jax.tree_isotonic_regression) in titles, the sidebar and
// the "previous/next" links: allow a line break after each dot or underscore, so a name
// that does not fit wraps between its parts instead of mid-word (<wbr> is not copied).
document.addEventListener("DOMContentLoaded", () => {
  const selector = ".bd-article h1, .bd-sidebar-primary a, .prev-next-title";
  for (const element of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) texts.push(walker.currentNode);
    for (const text of texts) {
      const parts = text.data.split(/(?<=[._])(?=\w)/);
      if (parts.length < 2) continue;
      const pieces = document.createDocumentFragment();
      parts.forEach((part, i) => {
        if (i) pieces.append(document.createElement("wbr"));
        pieces.append(part);
      });
      text.replaceWith(pieces);
    }
  }
});
