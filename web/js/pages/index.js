// The console's pages in menu order: a new page is its own module here plus one line below. The
// shell shows a page only to a viewer holding its permission (null: every signed-in user); the
// first one allowed is where the viewer lands.
import users from './users.js';
import clients from './clients.js';
import audit from './audit.js';
import system from './system.js';
import signing from './signing.js';
import picture from './picture.js';
import applications from './applications.js';
import seals from './seals.js';

// Users after the audit page: an audit administrator (who may see both) lands on the audit log.
// A seal issuer lands on the applications.
export const pages = [applications, seals, clients, audit, users, picture, system, signing];
