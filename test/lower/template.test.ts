// nginx value templates: literal text and variables ($name, ${name}, $1), the
// way ngx_http_script reads them; a `$` that starts no variable stays text.
import { describe, expect, test } from 'vitest';
import { parseTemplate, templateOf } from '../../src/lower/util.js';

const parts = (raw: string) => parseTemplate(raw).parts;

describe('parseTemplate', () => {
  test('text only, variables only, and both', () => {
    expect(parts('')).toEqual([]);
    expect(parts('plain text')).toEqual([{ text: 'plain text' }]);
    expect(parts('$host')).toEqual([{ var: 'host' }]);
    expect(parts('https://$host$request_uri')).toEqual([{ text: 'https://' }, { var: 'host' }, { var: 'request_uri' }]);
    expect(parts('a-$http_x_b-c')).toEqual([{ text: 'a-' }, { var: 'http_x_b' }, { text: '-c' }]);
  });

  test('${name} ends where the brace closes, even before name characters', () => {
    expect(parts('${host}name')).toEqual([{ var: 'host' }, { text: 'name' }]);
    expect(parts('x${a.b}y')).toEqual([{ text: 'x' }, { var: 'a.b' }, { text: 'y' }]);
  });

  test('a digit variable is one digit', () => {
    expect(parts('/$12')).toEqual([{ text: '/' }, { var: '1' }, { text: '2' }]);
    expect(parts('$1abc')).toEqual([{ var: '1' }, { text: 'abc' }]);
  });

  test('a $ that starts no variable is kept as text, joined to its neighbours', () => {
    expect(parts('$')).toEqual([{ text: '$' }]);
    expect(parts('cost: 5$')).toEqual([{ text: 'cost: 5$' }]);
    expect(parts('a$-b')).toEqual([{ text: 'a$-b' }]);
    expect(parts('a${}b')).toEqual([{ text: 'a${}b' }]);
    expect(parts('a${b')).toEqual([{ text: 'a${b' }]);
    expect(parts('$$host')).toEqual([{ text: '$' }, { var: 'host' }]);
  });

  test('a name is ASCII letters, digits and _ only', () => {
    expect(parts('é$hôte')).toEqual([{ text: 'é' }, { var: 'h' }, { text: 'ôte' }]);
    expect(parts('$a.b')).toEqual([{ var: 'a' }, { text: '.b' }]);
  });

  test('the raw text is kept', () => {
    expect(parseTemplate('x$y').raw).toBe('x$y');
  });

  test('templateOf gives the same reading', () => {
    for (const raw of ['https://$host$request_uri', 'a${}b', '/$1/x']) expect(templateOf(raw)).toEqual(parseTemplate(raw));
  });
});
