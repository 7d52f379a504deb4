/**
 * Runtime families that are defined on first use inside an isolate instead of while the snapshot
 * is made: events and AbortController, Blob/File, FormData and multipart bodies, structuredClone,
 * TextEncoderStream/TextDecoderStream, performance/navigator, and the two parts of a call that only
 * some calls have (a streamed response body, ctx.waitUntil). Every class, method and closure defined at snapshot time is
 * an object that each new isolate deserialises, and these families doubled that work; a hello-world
 * fetch handler uses none of them (test/runtime/snapshot.test.ts measures the cold start).
 *
 * How: esbuild bundles a module that is `require()`d as an init function that runs on the first
 * call, as it does for the third-party libraries (url.ts, streams.ts). So these modules must never
 * be imported statically from a module that runs at snapshot time; they are reached only through
 * this file (they may import each other). And their module-level helpers are `const` arrow
 * functions, not function declarations: esbuild hoists declarations out of the init function, so
 * each would again be made at snapshot time.
 */
import type * as AbortModule from './abort.js';
import type * as BlobModule from './blob.js';
import type * as CloneModule from './clone.js';
import type * as EventsModule from './events.js';
import type * as FormDataModule from './form-data.js';
import type * as MultipartModule from './multipart.js';
import type * as OutgoingModule from './outgoing.js';
import type * as PlatformModule from './platform.js';
import type * as TextStreamsModule from './text-streams.js';
import type * as WaitUntilModule from './wait-until.js';

// esbuild resolves these at build time; there is no module system in the isolate.
declare function require(id: './abort.js'): typeof AbortModule;
declare function require(id: './blob.js'): typeof BlobModule;
declare function require(id: './clone.js'): typeof CloneModule;
declare function require(id: './events.js'): typeof EventsModule;
declare function require(id: './form-data.js'): typeof FormDataModule;
declare function require(id: './multipart.js'): typeof MultipartModule;
declare function require(id: './outgoing.js'): typeof OutgoingModule;
declare function require(id: './platform.js'): typeof PlatformModule;
declare function require(id: './text-streams.js'): typeof TextStreamsModule;
declare function require(id: './wait-until.js'): typeof WaitUntilModule;

/** The modules loaded so far in this isolate (the snapshot holds none). */
const loaded: {
  abort?: typeof AbortModule;
  blob?: typeof BlobModule;
  clone?: typeof CloneModule;
  events?: typeof EventsModule;
  formData?: typeof FormDataModule;
  multipart?: typeof MultipartModule;
  outgoing?: typeof OutgoingModule;
  platform?: typeof PlatformModule;
  textStreams?: typeof TextStreamsModule;
  waitUntil?: typeof WaitUntilModule;
} = {};

export function abortModule(): typeof AbortModule {
  return (loaded.abort ??= require('./abort.js'));
}

export function blobModule(): typeof BlobModule {
  return (loaded.blob ??= require('./blob.js'));
}

export function cloneModule(): typeof CloneModule {
  return (loaded.clone ??= require('./clone.js'));
}

export function eventsModule(): typeof EventsModule {
  return (loaded.events ??= require('./events.js'));
}

export function formDataModule(): typeof FormDataModule {
  return (loaded.formData ??= require('./form-data.js'));
}

export function multipartModule(): typeof MultipartModule {
  return (loaded.multipart ??= require('./multipart.js'));
}

export function textStreamsModule(): typeof TextStreamsModule {
  return (loaded.textStreams ??= require('./text-streams.js'));
}

export function outgoingModule(): typeof OutgoingModule {
  return (loaded.outgoing ??= require('./outgoing.js'));
}

export function platformModule(): typeof PlatformModule {
  return (loaded.platform ??= require('./platform.js'));
}

export function waitUntilModule(): typeof WaitUntilModule {
  return (loaded.waitUntil ??= require('./wait-until.js'));
}
