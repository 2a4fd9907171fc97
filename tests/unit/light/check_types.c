/*
 * check_types.c - the generated libxl types: init/dispose/copy and the
 * JSON round trip (gen_json -> from_json -> gen_json identical).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>

static libxl_ctx *ctx;

static void setup(void)
{
    ck_assert_int_eq(libxl_ctx_alloc(&ctx, LIBXL_VERSION,
                                     LIBXL_CTX_XENOLITH_OFFLINE, NULL), 0);
}

static void teardown(void)
{
    libxl_ctx_free(ctx);
}

static void fill(libxl_domain_config *c)
{
    libxl_device_nic *nic;

    libxl_domain_config_init(c);
    c->c_info.type = LIBXL_DOMAIN_TYPE_HVM;
    c->c_info.name = strdup("guest");
    libxl_uuid_generate(&c->c_info.uuid);
    libxl_defbool_set(&c->c_info.run_hotplug_scripts, true);
    libxl_domain_build_info_init_type(&c->b_info, LIBXL_DOMAIN_TYPE_HVM);
    c->b_info.max_memkb = c->b_info.target_memkb = 262144;
    libxl_bitmap_alloc(ctx, &c->b_info.avail_vcpus, 4);
    libxl_bitmap_set(&c->b_info.avail_vcpus, 1);
    libxl_bitmap_set(&c->b_info.avail_vcpus, 3);
    c->b_info.u.hvm.boot = strdup("cd");
    libxl_defbool_set(&c->b_info.u.hvm.vnc.enable, true);
    c->b_info.extra = calloc(3, sizeof(char *));
    c->b_info.extra[0] = strdup("-a");
    c->b_info.extra[1] = strdup("b");
    ck_assert_int_eq(libxl_cpuid_parse_config(&c->b_info.cpuid, "tm=0"), 0);
    c->nics = calloc(1, sizeof(*c->nics));
    c->num_nics = 1;
    nic = &c->nics[0];
    libxl_device_nic_init(nic);
    nic->devid = 0;
    nic->mac[0] = 0x00;
    nic->mac[1] = 0x16;
    nic->mac[5] = 0x9c;
    nic->bridge = strdup("xenbr0");
    c->on_reboot = LIBXL_ACTION_ON_SHUTDOWN_RESTART;
}

START_TEST(test_roundtrip)
{
    libxl_domain_config a, b;
    char *ja, *jb;

    fill(&a);
    ja = libxl_domain_config_to_json(ctx, &a);
    ck_assert_ptr_nonnull(ja);
    ck_assert_ptr_nonnull(strstr(ja, "\"type.hvm\""));
    ck_assert_ptr_nonnull(strstr(ja, "\"00:16:00:00:00:9c\""));
    libxl_domain_config_init(&b);
    ck_assert_int_eq(libxl_domain_config_from_json(ctx, &b, ja), 0);
    jb = libxl_domain_config_to_json(ctx, &b);
    ck_assert_str_eq(ja, jb);
    free(ja);
    free(jb);
    libxl_domain_config_dispose(&a);
    libxl_domain_config_dispose(&b);
}
END_TEST

START_TEST(test_copy_dispose)
{
    libxl_domain_config a, b;
    char *ja, *jb;

    fill(&a);
    libxl_domain_config_init(&b);
    libxl_domain_config_copy(ctx, &b, &a);
    ja = libxl_domain_config_to_json(ctx, &a);
    libxl_domain_config_dispose(&a);
    libxl_domain_config_dispose(&a);        /* idempotent */
    jb = libxl_domain_config_to_json(ctx, &b);
    ck_assert_str_eq(ja, jb);
    free(ja);
    free(jb);
    libxl_domain_config_dispose(&b);
}
END_TEST

START_TEST(test_defaults_omitted)
{
    libxl_domain_config a;
    char *j;

    libxl_domain_config_init(&a);
    j = libxl_domain_config_to_json(ctx, &a);
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_null(strstr(j, "on_poweroff"));
    ck_assert_ptr_null(strstr(j, "max_memkb"));
    ck_assert_ptr_nonnull(strstr(j, "\"sched_params\""));
    free(j);
    ck_assert_int_ne(libxl_domain_config_from_json(ctx, &a, "{\"c_info\":1}"),
                     0);
    libxl_domain_config_dispose(&a);
}
END_TEST

START_TEST(test_enums)
{
    libxl_domain_type t;

    ck_assert_str_eq(libxl_domain_type_to_string(LIBXL_DOMAIN_TYPE_PVH),
                     "pvh");
    ck_assert_int_eq(libxl_domain_type_from_string("HVM", &t), 0);
    ck_assert_int_eq(t, LIBXL_DOMAIN_TYPE_HVM);
    ck_assert_int_ne(libxl_domain_type_from_string("kvm", &t), 0);
    ck_assert_str_eq(libxl_error_to_string(ERROR_FAIL), "fail");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("light_types");
    TCase *tc = tcase_create("types");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_copy_dispose);
    tcase_add_test(tc, test_defaults_omitted);
    tcase_add_test(tc, test_enums);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
