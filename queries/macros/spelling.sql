-- one value per text: the spelling a profile's value synonyms are looked up by (lower case, a double space read as one)
create or replace macro spelling(raw) as
    lower(replace(raw, '  ', ' '))
