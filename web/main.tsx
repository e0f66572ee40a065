import { render } from "hono/jsx/dom";
import { App } from "./App";
import "./app.css";

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
