package io.gradflow.common.graph;

/**
 * A scalar graph as one self-contained HTML page: a caption (the net, the input row, the loss) and
 * the {@link SvgRenderer} drawing inline; no script, nothing fetched.
 */
public final class HtmlRenderer {
  private HtmlRenderer() {}

  public static String render(Scalar root) {
    return render(root, "");
  }

  /** The page with {@code caption} (plain text, one or more lines) above the graph. */
  public static String render(Scalar root, String caption) {
    String svg = SvgRenderer.render(root);
    svg = svg.substring(svg.indexOf("<svg"));
    return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        + "<title>gradflow explain</title>\n"
        + "<style>body { font-family: sans-serif; margin: 16px; } pre { color: #444; }</style>\n"
        + "</head>\n<body>\n<h1>gradflow explain</h1>\n"
        + "<p>Every scalar of the forward pass with its value, and its gradient d loss / d node from the "
        + "backward pass (chain rule: add passes the gradient on, multiply swaps the inputs, the activation "
        + "multiplies by its local derivative).</p>\n"
        + (caption.isEmpty() ? "" : "<pre>" + SvgRenderer.escape(caption.strip()) + "</pre>\n")
        + svg
        + "</body>\n</html>\n";
  }
}
