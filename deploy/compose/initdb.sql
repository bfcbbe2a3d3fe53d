-- One database per service (the services create their tables on start).
CREATE DATABASE talent_applications;
CREATE DATABASE talent_subsidies;
CREATE DATABASE talent_assessment;
CREATE DATABASE talent_notifications;
