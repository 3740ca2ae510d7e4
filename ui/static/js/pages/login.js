// The login page: a token (from `nai token create` or `nai login`) kept
// in this tab's sessionStorage.
import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { loggedIn } from '../app.js';

export async function loginPage(ctx) {
  const next = ctx.query.get('next') || '/queue';
  const msg = h('p', { class: 'error', id: 'login-error', hidden: true });
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off', placeholder: 'secret id', required: true, size: 48 });
  const form = h('form', { id: 'login', class: 'login', onsubmit: async (ev) => {
    ev.preventDefault();
    msg.hidden = true;
    api.setToken(input.value.trim());
    try {
      const who = (await api.get('/v1/acl/token/self')).data;
      loggedIn(who);
      ctx.navigate('#' + next);
    } catch (e) {
      api.setToken('');
      replace(msg, e.status === 401 ? 'This token is not accepted: ' + e.message : e.message);
      msg.hidden = false;
    }
  } },
  h('h1', {}, 'Log in to nai'),
  h('p', {}, 'This cluster checks who you are. Paste a token: ', h('code', {}, 'nai token create -user NAME'),
    ' makes one, and ', h('code', {}, 'nai login'), ' keeps one on your machine in ', h('code', {}, '~/.nai/token'), '.'),
  h('label', { for: 'token' }, 'Token'), ' ', input, ' ',
  h('button', { type: 'submit' }, 'Log in'),
  msg,
  h('p', { class: 'muted' }, 'The token stays in this browser tab (sessionStorage) and is sent only in the Authorization header.'));
  replace(ctx.main, form);
  input.focus();
}
