export * from './session.js';
export * from './sql.js';
export * from './types.js';
