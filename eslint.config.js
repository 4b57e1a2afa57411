// ESLint flat config: typescript-eslint's recommended rules (not the type-checked preset), a few chosen
// type-aware rules for the TypeScript sources, and eslint-config-prettier last so nothing here fights Prettier.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default defineConfig(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'bench/peer/**',
      'bench/.work*/**',
      '.venv/**',
      '.ragsync/**',
      'coverage/**',
      'test/fixtures/**',
    ],
  },
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // One import statement per module; `import type` beside a value import of the same module is allowed.
      'no-duplicate-imports': ['error', { includeExports: false, allowSeparateTypeImports: true }],
    },
  },
  {
    // Type-aware rules: the TypeScript program of tsconfig.eslint.json (src, test, vitest.config.ts).
    files: ['src/**/*.ts', 'test/**/*.ts', 'vitest.config.ts'],
    languageOptions: {
      parserOptions: {
        project: './tsconfig.eslint.json',
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // Sizes the house style sets for the product code (tests may run longer).
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 300 }],
      'max-lines-per-function': ['error', { max: 60 }],
    },
  },
  prettier,
);
