package org.fhiradapter.server;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.orm.jpa.HibernateJpaAutoConfiguration;

/**
 * Entry point of fhir-adapter's local HAPI FHIR R4 server.
 *
 * <p>Everything FHIR-specific is wired in {@link PersistenceConfig}, {@link SandboxSettingsConfig}
 * and {@link FhirServletConfig}; Spring Boot only supplies the embedded Tomcat, the DataSource
 * and property binding. Hibernate's Boot auto-configuration is excluded because HAPI needs its
 * own entity-manager factory.
 */
@SpringBootApplication(
		exclude = {HibernateJpaAutoConfiguration.class},
		// HAPI drags these clients onto the classpath; we use neither Elasticsearch nor Spring MVC views.
		excludeName = {
			"org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration",
			"org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchClientAutoConfiguration",
			"org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration"
		})
public class Application {

	public static void main(String[] args) {
		SpringApplication.run(Application.class, args);
	}
}
