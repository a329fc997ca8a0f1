// The candidates page quotes the best texts of its first candidates and of the proposed panel;
// each other row has a link to its texts. With scripts, the link fetches them in place (the
// same URL with part=1 answers with the fragment alone); without, it opens them as a page.
document.querySelectorAll("a.js-texts").forEach((link) => {
  link.addEventListener("click", async (event) => {
    event.preventDefault();
    const slot = link.closest(".js-texts-slot");
    const url = new URL(link.href, window.location.href);
    url.searchParams.set("part", "1");
    slot.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      // A redirect means the session ended (the sign-in page): go there, do not inline it.
      if (!response.ok || response.redirected) {
        throw new Error(String(response.status));
      }
      slot.innerHTML = await response.text();
      slot.tabIndex = -1;
      slot.focus(); // a keyboard or screen-reader user lands on what was shown
    } catch (_error) {
      window.location.assign(link.href); // the page of its own says what went wrong
    } finally {
      slot.removeAttribute("aria-busy");
    }
  });
});
