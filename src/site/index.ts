export * from './schema.js';
export { loadSite, parseSite, driverFolders, SiteFileError, formatIssue, type SiteIssue, MAX_SITE_FILE_BYTES } from './load.js';
export { siteJsonSchema } from './json-schema.js';
export { renderSiteYaml, type RenderOptions } from './write.js';
export { askSite, inquirerPrompter, type Prompter, type Choice } from './init.js';
export * from './site-json.js';
