import type { Child } from "hono/jsx";
import { raw } from "hono/html";

/**
 * The root of every page: the doctype first, so that browsers render in standards mode (a page
 * without one is laid out in quirks mode), then `<html lang="en">` around the page.
 */
export function HtmlDocument(props: { children: Child }) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">{props.children}</html>
    </>
  );
}
