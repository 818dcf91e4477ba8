/* policy_managed.c -- the AWS managed policies Coffer ships, read-only, as
 * arn:aws:iam::aws:policy/NAME [spec-authorization §5.4]: their documents
 * and default version ids. Static data; nothing is parsed here. */
#include "common.h"
#include "auth/policy.h"

#include <string.h>

#define ARN_PREFIX "arn:aws:iam::aws:policy/"

static const struct policy_managed managed[] = {
    {"AmazonS3FullAccess", ARN_PREFIX "AmazonS3FullAccess", "v2",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"s3:*\",\"s3-object-lambda:*\"],\"Resource\":\"*\"}]}"},
    {"AmazonS3ReadOnlyAccess", ARN_PREFIX "AmazonS3ReadOnlyAccess", "v3",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"s3:Get*\",\"s3:List*\",\"s3:Describe*\",\"s3-object-lambda:Get*\","
     "\"s3-object-lambda:List*\"],\"Resource\":\"*\"}]}"},
    {"IAMFullAccess", ARN_PREFIX "IAMFullAccess", "v2",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"iam:*\",\"organizations:DescribeAccount\",\"organizations:DescribeOrganization\","
     "\"organizations:DescribeOrganizationalUnit\",\"organizations:DescribePolicy\","
     "\"organizations:ListChildren\",\"organizations:ListParents\","
     "\"organizations:ListPoliciesForTarget\",\"organizations:ListRoots\","
     "\"organizations:ListPolicies\",\"organizations:ListTargetsForPolicy\"],"
     "\"Resource\":\"*\"}]}"},
    {"IAMReadOnlyAccess", ARN_PREFIX "IAMReadOnlyAccess", "v4",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":["
     "\"iam:GenerateCredentialReport\",\"iam:GenerateServiceLastAccessedDetails\","
     "\"iam:Get*\",\"iam:List*\",\"iam:SimulateCustomPolicy\","
     "\"iam:SimulatePrincipalPolicy\"],\"Resource\":\"*\"}]}"},
};

const char *
policy_aws_managed(struct str arn)
{
    for (size_t i = 0; i < ARRAY_LEN(managed); i++)
        if (str_eq_c(arn, managed[i].arn))
            return managed[i].doc;
    return NULL;
}

const struct policy_managed *
policy_aws_managed_list(size_t *n)
{
    *n = ARRAY_LEN(managed);
    return managed;
}
