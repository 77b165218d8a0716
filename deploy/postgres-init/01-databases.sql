-- Run once by the postgres image, when its data volume is empty, as $POSTGRES_USER
-- (who therefore owns these databases). One database per service: no service
-- reads another's.
CREATE DATABASE quota;
CREATE DATABASE enrollment;
CREATE DATABASE finance;
CREATE DATABASE evaluation;
-- The gateway's accounts and counters; created last: the healthcheck waits for it.
CREATE DATABASE gateway;
