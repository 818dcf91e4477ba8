"""Sub-resources of S3 features Coffer does not offer (s3_absent.c): reads answer the state
every bucket is in (the feature off), as S3 answers for such a bucket; deleting a
configuration that cannot exist succeeds; turning a feature on is 501 NotImplemented, never
accepted and ignored. Each is authorized like any operation and needs the bucket."""

import unittest

from lib import E2ETestCase, bucket_name, client, delete_bucket, other_client


class AbsentFeaturesTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = client()
        cls.bucket = bucket_name("absent")
        cls.c.create_bucket(Bucket=cls.bucket)
        cls.c.put_object(Bucket=cls.bucket, Key="k", Body=b"x")

    @classmethod
    def tearDownClass(cls):
        delete_bucket(cls.c, cls.bucket)

    def test_reads_answer_the_feature_off(self):
        b = self.bucket
        self.assertNotIn("LoggingEnabled", self.c.get_bucket_logging(Bucket=b))
        n = self.c.get_bucket_notification_configuration(Bucket=b)
        for k in ("TopicConfigurations", "QueueConfigurations",
                  "LambdaFunctionConfigurations", "EventBridgeConfiguration"):
            self.assertNotIn(k, n)
        self.assertNotIn("Status", self.c.get_bucket_accelerate_configuration(Bucket=b))
        self.assertEqual(self.c.get_bucket_request_payment(Bucket=b)["Payer"], "BucketOwner")

    def test_missing_configurations(self):
        b = self.bucket
        self.assertS3Error("NoSuchWebsiteConfiguration", 404, self.c.get_bucket_website,
                           Bucket=b)
        self.assertS3Error("ServerSideEncryptionConfigurationNotFoundError", 404,
                           self.c.get_bucket_encryption, Bucket=b)
        self.assertS3Error("ReplicationConfigurationNotFoundError", 404,
                           self.c.get_bucket_replication, Bucket=b)
        self.assertS3Error("ObjectLockConfigurationNotFoundError", 404,
                           self.c.get_object_lock_configuration, Bucket=b)

    def test_deletes_succeed(self):
        for op in (self.c.delete_bucket_website, self.c.delete_bucket_encryption,
                   self.c.delete_bucket_replication):
            r = op(Bucket=self.bucket)
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)

    def test_object_lock_calls_refused_as_on_a_bucket_without_it(self):
        b = self.bucket
        self.assertS3Error("InvalidRequest", 400, self.c.get_object_retention, Bucket=b, Key="k")
        self.assertS3Error("InvalidRequest", 400, self.c.get_object_legal_hold, Bucket=b, Key="k")
        self.assertS3Error("InvalidRequest", 400, self.c.put_object_legal_hold, Bucket=b, Key="k",
                           LegalHold={"Status": "ON"})
        self.assertS3Error("InvalidRequest", 400, self.c.put_object_retention, Bucket=b, Key="k",
                           Retention={"Mode": "GOVERNANCE",
                                      "RetainUntilDate": "2030-01-01T00:00:00Z"})

    def test_turning_a_feature_on_is_not_implemented(self):
        b = self.bucket
        self.assertS3Error("NotImplemented", 501, self.c.put_bucket_logging, Bucket=b,
                           BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": b,
                                                                   "TargetPrefix": "log/"}})
        self.assertS3Error("NotImplemented", 501, self.c.put_bucket_website, Bucket=b,
                           WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
        self.assertS3Error("NotImplemented", 501, self.c.put_bucket_encryption, Bucket=b,
                           ServerSideEncryptionConfiguration={"Rules": [
                               {"ApplyServerSideEncryptionByDefault":
                                {"SSEAlgorithm": "AES256"}}]})
        self.assertS3Error("NotImplemented", 501, self.c.put_bucket_accelerate_configuration,
                           Bucket=b, AccelerateConfiguration={"Status": "Enabled"})
        self.assertS3Error("NotImplemented", 501, self.c.put_bucket_request_payment, Bucket=b,
                           RequestPaymentConfiguration={"Payer": "Requester"})
        # Nothing changed.
        self.assertNotIn("LoggingEnabled", self.c.get_bucket_logging(Bucket=b))
        self.assertS3Error("NoSuchWebsiteConfiguration", 404, self.c.get_bucket_website,
                           Bucket=b)

    def test_no_analytics_metrics_inventory_or_tiering_configurations(self):
        b = self.bucket
        for lst, key in ((self.c.list_bucket_analytics_configurations,
                          "AnalyticsConfigurationList"),
                         (self.c.list_bucket_metrics_configurations, "MetricsConfigurationList"),
                         (self.c.list_bucket_inventory_configurations,
                          "InventoryConfigurationList"),
                         (self.c.list_bucket_intelligent_tiering_configurations,
                          "IntelligentTieringConfigurationList")):
            r = lst(Bucket=b)
            self.assertFalse(r["IsTruncated"])
            self.assertNotIn(key, r)
        for op in (self.c.get_bucket_analytics_configuration,
                   self.c.get_bucket_metrics_configuration,
                   self.c.get_bucket_inventory_configuration,
                   self.c.get_bucket_intelligent_tiering_configuration,
                   self.c.delete_bucket_analytics_configuration,
                   self.c.delete_bucket_metrics_configuration,
                   self.c.delete_bucket_inventory_configuration,
                   self.c.delete_bucket_intelligent_tiering_configuration):
            self.assertS3Error("NoSuchConfiguration", 404, op, Bucket=b, Id="x")
        self.assertS3Error("NotImplemented", 501, self.c.put_bucket_metrics_configuration,
                           Bucket=b, Id="x", MetricsConfiguration={"Id": "x"})

    def test_authorized_and_bucket_needed(self):
        o = other_client()
        self.assertS3Error("AccessDenied", 403, o.get_bucket_logging, Bucket=self.bucket)
        self.assertS3Error("AccessDenied", 403, o.get_bucket_website, Bucket=self.bucket)
        self.assertS3Error("AccessDenied", 403, o.get_object_retention, Bucket=self.bucket,
                           Key="k")
        self.assertS3Error("NoSuchBucket", 404, self.c.get_bucket_logging,
                           Bucket=bucket_name("none"))
        self.assertS3Error("NoSuchBucket", 404, self.c.get_bucket_encryption,
                           Bucket=bucket_name("none"))


if __name__ == "__main__":
    unittest.main()
