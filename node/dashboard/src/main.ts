// Entry point: the token gate, then the dashboard.

import "./style.css";
import { startDashboard } from "./app";
import { askToken } from "./login";
import { forgetToken, storeToken, storedToken } from "./token";

const root = document.getElementById("app")!;

function signIn(notice = ""): void {
  delete root.dataset.live;
  askToken(root, (token) => {
    storeToken(token);
    open(token);
  }, notice);
}

function open(token: string): void {
  startDashboard(root, token, (why) => {
    forgetToken();
    signIn(why);
  });
}

const token = storedToken();
if (token) open(token);
else signIn();
