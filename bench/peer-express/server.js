// The stack sessionguard replaces, written the way the Express tutorials teach: Express 4,
// express-session and connect-mongo, with Argon2id at the same cost as sessionguard's.
// It exists only so that bench/run can measure both systems side by side; it is not hardened.
//
// Environment: PORT, MONGODB_URI, MONGODB_DB, SESSION_SECRET.
'use strict';

const express = require('express');
const session = require('express-session');
const { default: MongoStore } = require('connect-mongo');
const { MongoClient } = require('mongodb');
const argon2 = require('argon2');

const PORT = Number(process.env.PORT || 3100);
const SECRET = process.env.SESSION_SECRET || 'bench-only-secret';

// The same Argon2id cost as sessionguard (argon2 crate defaults); node-argon2's own defaults
// cost about four times more.
const ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };

// Every command the driver starts, by name, for bench/run's "commands per request".
const commands = {};

function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// connect-mongo stores each session as one opaque JSON string, so finding a user's sessions
// means matching that string: a collection scan over every session stored, whoever owns it.
function sessionsOf(userId) {
  return { session: { $regex: escapeRegex(`"userId":"${userId}"`) } };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function main() {
  const client = new MongoClient(process.env.MONGODB_URI || 'mongodb://127.0.0.1:27017', { monitorCommands: true });
  client.on('commandStarted', (event) => {
    commands[event.commandName] = (commands[event.commandName] || 0) + 1;
  });
  await client.connect();
  const db = client.db(process.env.MONGODB_DB || 'peer_express');
  const users = db.collection('users');
  const sessions = db.collection('sessions');
  const store = MongoStore.create({ client, dbName: db.databaseName, autoRemove: 'native', touchAfter: 60 });

  const app = express();
  app.set('trust proxy', false);
  app.use(express.urlencoded({ extended: false }));
  app.use(
    session({
      secret: SECRET,
      store,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  );

  app.get('/healthz', (req, res) => {
    res.json({ ok: true, commands });
  });

  app.post('/login', async (req, res, next) => {
    try {
      const email = String(req.body.email || '').trim().toLowerCase();
      const user = await users.findOne({ email });
      const ok = user ? await argon2.verify(user.passwordHash, String(req.body.password || '')) : false;
      if (!ok) return res.status(401).send('Wrong email or password');
      req.session.regenerate((err) => {
        if (err) return next(err);
        req.session.userId = user._id.toHexString();
        req.session.email = user.email;
        req.session.userAgent = req.get('user-agent') || '';
        req.session.save((saveErr) => (saveErr ? next(saveErr) : res.redirect(303, '/account/security')));
      });
    } catch (err) {
      next(err);
    }
  });

  app.get('/account/security', async (req, res, next) => {
    try {
      if (!req.session.userId) return res.redirect(303, '/login');
      const rows = await sessions.find(sessionsOf(req.session.userId)).toArray();
      const items = rows
        .map((row) => {
          const data = JSON.parse(row.session);
          const current = row._id === req.sessionID ? ' (this device)' : '';
          return `<li>${escapeHtml(data.userAgent)}${current} until ${row.expires.toISOString()}</li>`;
        })
        .join('');
      res.send(
        `<!doctype html><html><head><title>Security</title></head><body>` +
          `<h1>Where you are signed in</h1><p>${escapeHtml(req.session.email)}</p><ul>${items}</ul>` +
          `<form method="post" action="/logout"><button>Log out</button></form>` +
          `<form method="post" action="/logout-everywhere"><button>Log out everywhere</button></form>` +
          `</body></html>`,
      );
    } catch (err) {
      next(err);
    }
  });

  app.post('/logout', (req, res, next) => {
    const sid = req.sessionID;
    // The common tutorial: destroy the session, then ask the store to destroy it as well.
    req.session.destroy((err) => {
      if (err) return next(err);
      store.destroy(sid, (storeErr) => (storeErr ? next(storeErr) : res.redirect(303, '/login')));
    });
  });

  app.post('/logout-everywhere', async (req, res, next) => {
    try {
      if (!req.session.userId) return res.redirect(303, '/login');
      const { deletedCount } = await sessions.deleteMany(sessionsOf(req.session.userId));
      req.session.destroy((err) => (err ? next(err) : res.json({ ended: deletedCount })));
    } catch (err) {
      next(err);
    }
  });

  app.listen(PORT, '127.0.0.1', () => {
    console.log(`peer-express listening on http://127.0.0.1:${PORT}`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
