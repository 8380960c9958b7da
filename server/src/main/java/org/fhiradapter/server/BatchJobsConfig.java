package org.fhiradapter.server;

import ca.uhn.fhir.batch2.api.IJobMaintenanceService;
import ca.uhn.fhir.batch2.maintenance.JobMaintenanceServiceImpl;
import org.springframework.beans.factory.InitializingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Batch jobs ($export) advance one step per maintenance pass, once a minute by default, so a
 * small export takes several minutes. A local server can afford a pass every few seconds.
 */
@Configuration
public class BatchJobsConfig {

	static final long MAINTENANCE_INTERVAL_MILLIS = 5_000L;

	@Bean
	public InitializingBean fasterJobMaintenance(IJobMaintenanceService maintenance) {
		// Runs before the scheduler registers its jobs (on context refresh), so the interval sticks.
		return () -> {
			if (maintenance instanceof JobMaintenanceServiceImpl impl) {
				impl.setScheduledJobFrequencyMillis(MAINTENANCE_INTERVAL_MILLIS);
			}
		};
	}
}
