import { render } from "preact";
import { App } from "./App";
import { setUnauthorizedHandler } from "./app/api";
import { state, stopLive, update } from "./app/store";
import "./styles.css";

document.documentElement.dataset.theme = state.theme;
setUnauthorizedHandler(() => {
  if (state.me) {
    stopLive();
    update({ me: null });
  }
});
render(<App />, document.getElementById("app")!);
