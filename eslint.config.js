// @ts-check
// Lint: typescript-eslint with the promise rules, and the component import boundaries stated once as data.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

/** Allowed imports, as zones: a file under `target` may not import from `from` (except `except`). */
const zones = [
  // shared imports nothing else in src/
  { target: './src/shared', from: './src', except: ['./shared'], message: 'src/shared imports nothing else in src/' },
  // pure layers import only shared
  { target: './src/protocol', from: './src', except: ['./shared', './protocol', './gen'], message: 'protocol imports only shared and gen' },
  { target: './src/auth', from: './src', except: ['./shared', './auth'], message: 'auth imports only shared' },
  { target: './src/db', from: './src', except: ['./shared', './db'], message: 'db imports only shared' },
  { target: './src/rpc', from: './src', except: ['./shared', './rpc'], message: 'rpc imports only shared' },
  { target: './src/gen', from: './src', except: ['./gen', './shared'], message: 'generated code imports only shared' },
  // domains never import the API layer, the composition root, or each other's internals
  { target: './src/clc', from: ['./src/api', './src/main', './src/protocol', './src/nc', './src/walrus', './src/sc', './src/cc'], message: 'clc talks to other components through rpc, never their code' },
  { target: './src/walrus', from: ['./src/api', './src/main', './src/clc', './src/nc', './src/sc', './src/cc'], message: 'walrus is a component of its own' },
  { target: './src/cc', from: ['./src/api', './src/main', './src/clc', './src/db', './src/nc', './src/walrus', './src/sc'], message: 'cc reaches nodes through rpc' },
  { target: './src/sc', from: ['./src/api', './src/main', './src/clc', './src/nc', './src/walrus', './src/cc'], message: 'sc is a component of its own' },
  { target: './src/nc', from: ['./src/api', './src/main', './src/clc', './src/db', './src/walrus', './src/sc', './src/cc'], message: 'nc reaches others through rpc and never touches the database' },
  { target: './src/nc/qemu', from: './src/nc/fake', message: 'drivers never import each other' },
  { target: './src/nc/fake', from: './src/nc/qemu', message: 'drivers never import each other' },
  { target: './src/nc/driver', from: ['./src/nc/qemu', './src/nc/fake'], message: 'the driver contract knows no driver' },
  // api handlers: domains + protocol + auth + shared, never the composition root
  { target: './src/api', from: ['./src/main', './src/nc', './src/cc', './src/sc'], message: 'api reaches components through clc/walrus and rpc' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/gen/**', 'var/**', '**/*.js', '!eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
);
