from django.db import migrations

from irlearn.markup import render_markdown

ABOUT = """\
IRLearn is a free place to learn what interventional radiology (IR) is and what it can do for
patients. Interventional radiologists use imaging (ultrasound, CT, fluoroscopy and MRI) to guide
needles, wires and catheters through the skin, so that many problems that once needed open
surgery can be diagnosed or treated through an opening of a few millimetres.

## Who it is for

Medical students, foundation doctors and trainees in every specialty, and the radiographers and
nurses who look after patients before and after a procedure. Most of our readers are not
radiologists: they refer patients, consent them, or care for them on the ward.

## What you will find

- **The procedure library**: plain-language guides to common non-vascular procedures, such as
  gastrostomy, biliary drainage, nephrostomy, image-guided biopsy and drainage, and spinal
  injections, with short overviews of vascular, venous and neuro-interventional work.
- **E-learning**: short modules with single best answer questions, progress tracking and
  certificates for your portfolio.

## A word of caution

IRLearn is for education. It does not replace local guidelines, the advice of your own
interventional radiology team, or clinical judgement.
"""

PRIVACY = """\
This policy explains what personal data IRLearn holds, why, and what you can do about it.

## What we hold

- **Your account**: your email address, name, training grade and specialty, and a hashed
  password. We use them to let you log in, to record your learning and to print your name on
  certificates.
- **Your learning records**: enrolments, progress, answers to questions and certificates.
- **Newsletter subscription**, if you join: your email address and a record of your consent.

## What we do not do

We never share or sell your email address or any other personal data to third parties. We use no
advertising, no trackers and no third-party fonts or scripts: every file on this site is served
by IRLearn itself.

## Cookies

We set only the cookies the site needs to work: one that keeps you logged in and one that
protects forms against forgery.

## Your rights

You can download everything we hold about you, correct your profile, and delete your account at
any time from your profile page. Deleting your account removes your data.
"""

PAGES = [
    ("about", "About IRLearn", "What IRLearn is, who writes it and who it is for.", ABOUT),
    ("privacy", "Privacy policy", "How IRLearn uses and protects your personal data.", PRIVACY),
]


def create_pages(apps, schema_editor):
    Page = apps.get_model("pages", "Page")
    for slug, title, summary, body in PAGES:
        Page.objects.get_or_create(
            slug=slug,
            defaults={"title": title, "summary": summary, "body": body, "body_html": render_markdown(body)},
        )


class Migration(migrations.Migration):
    # The footer links to both pages on every page, so they exist from the start; editors
    # change their wording in the admin.
    dependencies = [("pages", "0001_initial")]

    operations = [migrations.RunPython(create_pages, migrations.RunPython.noop)]
