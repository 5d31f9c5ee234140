-- one value per row: the row's value in the group column named by by_column ('modality', 'age_group', 'team', 'therapist_id' or 'approach'), null for null or any other name
create or replace macro group_value(by_column, modality, age_group, team, therapist_id, approach) as
    case by_column
        when 'modality' then modality
        when 'age_group' then age_group
        when 'team' then team
        when 'therapist_id' then therapist_id
        when 'approach' then approach
    end
